package boot_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/closeloop/closeloop/shared/dynamo"
	"github.com/closeloop/closeloop/shared/mail"
	"github.com/closeloop/closeloop/shared/queue"
	"github.com/closeloop/closeloop/shared/secrets"
)

// TestBootstrapsLinkOnlyTheOperationsTheyCall builds every function and
// lists the AWS SDK client operations its binary holds. Each must be one the
// code calls (the methods of the narrow client interfaces) or one the SDK
// calls itself (DynamoDB's endpoint discovery). An SDK client stored in an
// interface links all of its operations (about 60 for DynamoDB, 100 for
// SES) wherever text/template is linked too, since it calls methods by name
// through reflection; that was 1.7 to 3.5 MB of every function that renders
// a page or an email.
func TestBootstrapsLinkOnlyTheOperationsTheyCall(t *testing.T) {
	called := map[string]bool{"dynamodb.DescribeEndpoints": true}
	for service, iface := range map[string]reflect.Type{
		"dynamodb":       reflect.TypeFor[dynamo.Client](),
		"sesv2":          reflect.TypeFor[mail.Client](),
		"sqs":            reflect.TypeFor[queue.SQSClient](),
		"secretsmanager": reflect.TypeFor[secrets.Client](),
	} {
		for i := range iface.NumMethod() {
			called[service+"."+iface.Method(i).Name] = true
		}
	}
	called["sesv2.GetAccount"] = true // mail.AccountQuota's
	for i := range reflect.TypeFor[queue.DLQClient]().NumMethod() {
		called["sqs."+reflect.TypeFor[queue.DLQClient]().Method(i).Name] = true
	}

	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", out+"/", "./functions/...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./functions/...: %v\n%s", err, b)
	}
	bins, err := os.ReadDir(out)
	if err != nil || len(bins) < 7 {
		t.Fatalf("built %d functions (%v); want all seven", len(bins), err)
	}
	op := regexp.MustCompile(`aws-sdk-go-v2/service/(\w+)\.\(\*Client\)\.([A-Z]\w*)$`)
	for _, b := range bins {
		nm, err := exec.Command("go", "tool", "nm", filepath.Join(out, b.Name())).Output()
		if err != nil {
			t.Fatalf("go tool nm %s: %v", b.Name(), err)
		}
		var extra []string
		linked := 0
		for _, line := range strings.Split(string(nm), "\n") {
			m := op.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			linked++
			if name := m[1] + "." + m[2]; !called[name] && !slices.Contains(extra, name) {
				extra = append(extra, name)
			}
		}
		if linked == 0 {
			t.Errorf("%s: no SDK operation found in its symbols; the check reads nothing", b.Name())
		}
		if len(extra) > 0 {
			slices.Sort(extra)
			t.Errorf("%s links %d SDK operations it never calls, e.g. %v: an SDK client is held in an interface (use its package's method-value adapter)", b.Name(), len(extra), extra[:min(5, len(extra))])
		}
	}
}
