package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/dynamo/schema"
	"github.com/closeloop/closeloop/shared/helpdesk"
)

// synthesized is one app with two copies of the stack (as a team with
// staging and production in one account would have), synthesized once for
// all tests: a cold jsii start costs tens of seconds.
var synthesized struct {
	once      sync.Once
	a, b      map[string]any // the two templates
	errors    []string       // unsuppressed cdk-nag errors
	warnings  []string
	functions []string // folders in ../functions
}

func templates(t *testing.T) (a, b map[string]any) {
	t.Helper()
	s := &synthesized
	s.once.Do(func() {
		dirs, err := os.ReadDir("../functions")
		if err != nil {
			t.Fatal(err)
		}
		assets := t.TempDir()
		for _, d := range dirs {
			s.functions = append(s.functions, d.Name())
		}
		for name := range Functions {
			os.MkdirAll(filepath.Join(assets, name), 0o755)
			os.WriteFile(filepath.Join(assets, name, "bootstrap"), []byte("test"), 0o755)
		}
		ctx := cdkJSONContext(t)
		for k, v := range map[string]interface{}{
			"sender": "Acme Support <feedback@acme.example>", "alarmEmail": "ops@acme.example",
			"adminEmail": "lead@acme.example", "brandName": "Acme Support", "brandColor": "#b91c1c",
			"timeZone": "Europe/Berlin", "alertEmail": "team@acme.example",
			"sources": map[string]interface{}{"zendesk": map[string]interface{}{"surveyKind": "nps", "checkIn": false, "ticketUrl": "https://acme.zendesk.com/agent/tickets/{id}"},
				"hubspot": map[string]interface{}{"closedStages": "88123456"}},
		} {
			ctx[k] = v
		}
		delete(ctx, "assetDir")
		app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
		sa := NewStack(app, "Production", &StackProps{AssetDir: assets})
		sb := NewStack(app, "Staging", &StackProps{AssetDir: assets})
		awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
		awscdk.Aspects_Of(app).Add(cdknag.NewServerlessChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
		app.Synth(nil)
		s.a = *assertions.Template_FromStack(sa, nil).ToJSON()
		s.b = *assertions.Template_FromStack(sb, nil).ToJSON()
		ann := assertions.Annotations_FromStack(sa)
		for _, pack := range []string{"AwsSolutions-.*", "Serverless-.*"} {
			for _, m := range *ann.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String(pack))) {
				s.errors = append(s.errors, *m.Id+": "+firstLine(m.Entry.Data))
			}
			for _, m := range *ann.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String(pack))) {
				s.warnings = append(s.warnings, *m.Id+": "+firstLine(m.Entry.Data))
			}
		}
	})
	if s.a == nil {
		t.Fatal("synthesis failed in an earlier test")
	}
	return s.a, s.b
}

// resources returns the template's resources of type typ, by logical id.
func resources(tmpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tmpl["Resources"].(map[string]any) {
		r := r.(map[string]any)
		if r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestEveryFunctionFolderHasALambda(t *testing.T) {
	a, _ := templates(t)
	var want, got []string
	want = append(want, synthesized.functions...)
	for _, r := range resources(a, "AWS::Lambda::Function") {
		got = append(got, strings.TrimPrefix(props(r)["Description"].(string), "Closeloop "))
	}
	sort.Strings(want)
	sort.Strings(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("function folders (-) vs Lambdas in the stack (+):\n%s", d)
	}
}

func TestFunctionsAreMadeAlike(t *testing.T) {
	a, _ := templates(t)
	for id, r := range resources(a, "AWS::Lambda::Function") {
		p := props(r)
		checks := map[string]bool{
			"runtime provided.al2023": p["Runtime"] == "provided.al2023",
			"arm64":                   jsonOf(p["Architectures"]) == `["arm64"]`,
			"handler bootstrap":       p["Handler"] == "bootstrap",
			"JSON logs":               jsonOf(p["LoggingConfig"]) != "null" && p["LoggingConfig"].(map[string]any)["LogFormat"] == "JSON",
			"own log group":           p["LoggingConfig"] != nil && p["LoggingConfig"].(map[string]any)["LogGroup"] != nil,
			"timeout set":             p["Timeout"] != nil,
			"memory set":              p["MemorySize"] != nil,
			"table from env":          strings.Contains(jsonOf(p["Environment"]), "CLOSELOOP_TABLE"),
		}
		for what, ok := range checks {
			if !ok {
				t.Errorf("%s: not %s", id, what)
			}
		}
	}
	for id, r := range resources(a, "AWS::Logs::LogGroup") {
		if props(r)["RetentionInDays"] != float64(30) {
			t.Errorf("log group %s keeps logs %v days, want 30", id, props(r)["RetentionInDays"])
		}
	}
}

// TestBrandAndAdmin: the brand reaches the functions that render emails
// and pages, the first admin reaches the api function, and a brand colour
// white text cannot be read on refuses to synthesize.
func TestBrandAndAdmin(t *testing.T) {
	a, _ := templates(t)
	for _, r := range resources(a, "AWS::Lambda::Function") {
		p := props(r)
		fn := strings.TrimPrefix(p["Description"].(string), "Closeloop ")
		env := jsonOf(p["Environment"])
		renders := fn != "webhook" && fn != "ses-events"
		if got := strings.Contains(env, `"CLOSELOOP_BRAND_NAME":"Acme Support"`) && strings.Contains(env, "#b91c1c"); got != renders {
			t.Errorf("%s: brand in its environment %v, want %v", fn, got, renders)
		}
		if got := strings.Contains(env, `"CLOSELOOP_ADMIN_EMAIL":"lead@acme.example"`); got != (fn == "api") {
			t.Errorf("%s: first admin in its environment %v", fn, got)
		}
		if got := strings.Contains(env, "CLOSELOOP_CLOSING_DLQ_URL") && strings.Contains(env, "CLOSELOOP_SES_EVENTS_DLQ_URL"); got != (fn == "api") {
			t.Errorf("%s: dead-letter queues in its environment %v", fn, got)
		}
		// Every function counts days in the team's zone, and knows each
		// helpdesk's own settings.
		if !strings.Contains(env, `"CLOSELOOP_TIMEZONE":"Europe/Berlin"`) {
			t.Errorf("%s: no team zone in its environment", fn)
		}
		if !strings.Contains(env, `"CLOSELOOP_SOURCE_ZENDESK_SURVEY_KIND":"nps"`) || !strings.Contains(env, `"CLOSELOOP_SOURCE_ZENDESK_CHECKIN":"off"`) || !strings.Contains(env, `"CLOSELOOP_SOURCE_ZENDESK_TICKET_URL":"https://acme.zendesk.com/agent/tickets/{id}"`) ||
			!strings.Contains(env, `"CLOSELOOP_SOURCE_HUBSPOT_CLOSED_STAGES":"88123456"`) {
			t.Errorf("%s: the zendesk settings are not in its environment", fn)
		}
		if got := strings.Contains(env, `"CLOSELOOP_ALERT_EMAIL":"team@acme.example"`); got != (fn == "closing" || fn == "digest" || fn == "api") {
			t.Errorf("%s: the team's address in its environment %v", fn, got)
		}
	}
	digestRules := 0
	for _, r := range resources(a, "AWS::Events::Rule") {
		p := props(r)
		if p["ScheduleExpression"] == "rate(1 hour)" && strings.Contains(jsonOf(p["Targets"]), `"digest`) {
			digestRules++
		}
	}
	if digestRules != 1 {
		t.Errorf("%d hourly rules invoke the digest, want 1", digestRules)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]interface{}{"brandColor": "#fde68a"}})
	func() {
		defer func() { recover() }()
		NewStack(app, "Pale", &StackProps{AssetDir: t.TempDir()})
		t.Error("a pale brand colour synthesized")
	}()
}

func TestTable(t *testing.T) {
	a, _ := templates(t)
	tables := resources(a, "AWS::DynamoDB::Table")
	if len(tables) != 1 {
		t.Fatalf("%d tables", len(tables))
	}
	for _, r := range tables {
		p := props(r)
		if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("table is not retained: %v %v", r["DeletionPolicy"], r["UpdateReplacePolicy"])
		}
		if jsonOf(p["PointInTimeRecoverySpecification"]) != `{"PointInTimeRecoveryEnabled":true}` {
			t.Errorf("PITR: %v", p["PointInTimeRecoverySpecification"])
		}
		if jsonOf(p["SSESpecification"]) != `{"SSEEnabled":true}` {
			t.Errorf("encryption: %v", p["SSESpecification"])
		}
		if p["BillingMode"] != "PAY_PER_REQUEST" {
			t.Errorf("billing %v", p["BillingMode"])
		}
		var got, want []string
		for _, ix := range p["GlobalSecondaryIndexes"].([]any) {
			ix := ix.(map[string]any)
			ks := ix["KeySchema"].([]any)
			got = append(got, ix["IndexName"].(string)+":"+ks[0].(map[string]any)["AttributeName"].(string)+"/"+ks[1].(map[string]any)["AttributeName"].(string)+":"+ix["Projection"].(map[string]any)["ProjectionType"].(string))
		}
		for _, ix := range schema.Closeloop.Indexes {
			want = append(want, ix.Name+":"+ix.PartitionKey+"/"+ix.SortKey+":"+string(ix.Projection))
		}
		sort.Strings(got)
		sort.Strings(want)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("indexes (-schema +stack):\n%s", d)
		}
		if jsonOf(p["TimeToLiveSpecification"]) != `{"AttributeName":"`+schema.Closeloop.TTLAttribute+`","Enabled":true}` {
			t.Errorf("TTL %v", p["TimeToLiveSpecification"])
		}
	}
}

func TestQueuesHaveDeadLettersAndEncryption(t *testing.T) {
	a, _ := templates(t)
	queues := resources(a, "AWS::SQS::Queue")
	redriven := map[string]bool{}
	for _, r := range queues {
		if rp, ok := props(r)["RedrivePolicy"].(map[string]any); ok {
			target := jsonOf(rp["deadLetterTargetArn"])
			for id := range queues {
				if strings.Contains(target, `"`+id+`"`) {
					redriven[id] = true
				}
			}
			if rp["maxReceiveCount"] != float64(5) {
				t.Errorf("maxReceiveCount %v", rp["maxReceiveCount"])
			}
		}
	}
	// The schedules' dead letters: the rules' targets and the sweep's and
	// digest's asynchronous invocations fail into one queue.
	scheduled := map[string]int{}
	for _, r := range resources(a, "AWS::Events::Rule") {
		for _, tg := range props(r)["Targets"].([]any) {
			tgt := tg.(map[string]any)
			for id := range queues {
				if strings.Contains(jsonOf(tgt["DeadLetterConfig"]), `"`+id+`"`) {
					redriven[id] = true
				}
			}
			if !strings.Contains(jsonOf(tgt["Arn"]), "sweep") && !strings.Contains(jsonOf(tgt["Arn"]), "digest") {
				continue
			}
			if tgt["DeadLetterConfig"] == nil || tgt["RetryPolicy"] == nil {
				t.Errorf("schedule target %s without a dead-letter queue or retry policy", jsonOf(tgt["Arn"]))
			}
			for id := range queues {
				if strings.Contains(jsonOf(tgt["DeadLetterConfig"]), `"`+id+`"`) {
					scheduled[id]++
				}
			}
		}
	}
	for _, r := range resources(a, "AWS::Lambda::EventInvokeConfig") {
		for id := range queues {
			if strings.Contains(jsonOf(props(r)["DestinationConfig"]), `"`+id+`"`) {
				scheduled[id]++
			}
		}
	}
	if len(scheduled) != 1 || slices.Collect(maps.Values(scheduled))[0] != 4 {
		t.Errorf("schedule dead letters %v, want one queue for both rules and both functions' failures", scheduled)
	}
	for id, r := range queues {
		p := props(r)
		if p["SqsManagedSseEnabled"] != true && p["KmsMasterKeyId"] == nil {
			t.Errorf("queue %s is not encrypted", id)
		}
		if p["RedrivePolicy"] == nil && !redriven[id] {
			t.Errorf("queue %s neither has a dead-letter queue nor is one", id)
		}
	}
	if len(redriven) != 3 {
		t.Errorf("%d dead-letter queues, want 3 (closing, ses-events, the schedules)", len(redriven))
	}
	for _, r := range resources(a, "AWS::SQS::QueuePolicy") {
		if !strings.Contains(jsonOf(r), `"aws:SecureTransport":"false"`) {
			t.Errorf("a queue policy does not refuse plain HTTP: %s", jsonOf(r))
		}
	}
	for _, fn := range []string{"closing", "ses-events"} {
		found := false
		for _, r := range resources(a, "AWS::Lambda::EventSourceMapping") {
			if strings.Contains(jsonOf(props(r)["FunctionName"]), pascal(fn)) || strings.Contains(jsonOf(props(r)["FunctionName"]), strings.ReplaceAll(fn, "-", "")) {
				found = true
				if jsonOf(props(r)["FunctionResponseTypes"]) != `["ReportBatchItemFailures"]` {
					t.Errorf("%s: no partial batch responses", fn)
				}
			}
		}
		if !found {
			t.Errorf("%s has no queue trigger", fn)
		}
	}
}

func TestAlarms(t *testing.T) {
	a, _ := templates(t)
	alarms := resources(a, "AWS::CloudWatch::Alarm")
	metrics := map[string]int{}
	for id, r := range alarms {
		p := props(r)
		metrics[p["MetricName"].(string)]++
		if len(p["AlarmActions"].([]any)) == 0 {
			t.Errorf("alarm %s notifies nobody although alarmEmail is set", id)
		}
	}
	want := map[string]int{"Errors": len(Functions), "Throttles": len(Functions), "ApproximateNumberOfMessagesVisible": 3,
		"Reputation.BounceRate": 1, "Reputation.ComplaintRate": 1,
		"5xx": 1, "Latency": 1, "ApproximateAgeOfOldestMessage": 2, "ReadThrottleEvents": 1, "WriteThrottleEvents": 1,
		"SurveysFailed": 1, "ClosingFailed": 1, "AlertsFailed": 1, "LookupsFailed": 1, "WebhooksRejected": 1}
	if d := cmp.Diff(want, metrics); d != "" {
		t.Errorf("alarms by metric (-want +got):\n%s", d)
	}
	// Closeloop's own metrics are told apart by the function's own name, so
	// a staging stack in the same account never sets off these alarms.
	fnIDs := resources(a, "AWS::Lambda::Function")
	for id, r := range alarms {
		p := props(r)
		if p["Namespace"] != "Closeloop" {
			continue
		}
		dims, _ := p["Dimensions"].([]any)
		ref := ""
		if len(dims) == 1 {
			ref, _ = dims[0].(map[string]any)["Value"].(map[string]any)["Ref"].(string)
		}
		if _, ok := fnIDs[ref]; !ok {
			t.Errorf("alarm %s on %s watches dimension %s, not a function of this stack", id, p["MetricName"], jsonOf(dims))
		}
	}
	topics := resources(a, "AWS::SNS::Topic")
	for id, r := range topics {
		if props(r)["KmsMasterKeyId"] == nil {
			t.Errorf("alarm topic %s is not encrypted", id)
		}
	}
	if len(topics) != 1 || len(resources(a, "AWS::CloudWatch::Dashboard")) != 1 {
		t.Errorf("%d topics, %d dashboards; want 1 and 1", len(topics), len(resources(a, "AWS::CloudWatch::Dashboard")))
	}
	// The topic's policy lets this account's CloudWatch alarms publish (it
	// replaces SNS's default policy, which would have).
	published := false
	for _, r := range resources(a, "AWS::SNS::TopicPolicy") {
		js := jsonOf(props(r)["PolicyDocument"])
		if strings.Contains(js, `"Service":"cloudwatch.amazonaws.com"`) && strings.Contains(js, `"sns:Publish"`) && strings.Contains(js, "aws:SourceAccount") && strings.Contains(js, ":alarm:*") {
			published = true
		}
	}
	if !published {
		t.Errorf("no topic policy lets CloudWatch alarms publish")
	}
	// Every function is traced; the dashboard has a name of the stack's and
	// its URL is an output.
	for id, r := range resources(a, "AWS::Lambda::Function") {
		if tc, _ := props(r)["TracingConfig"].(map[string]any); tc["Mode"] != "Active" {
			t.Errorf("function %s is not traced", id)
		}
	}
	for _, r := range resources(a, "AWS::CloudWatch::Dashboard") {
		if !strings.Contains(jsonOf(props(r)["DashboardName"]), "closeloop") {
			t.Errorf("the dashboard has no name of the stack's: %v", props(r)["DashboardName"])
		}
		body := jsonOf(props(r)["DashboardBody"])
		for _, want := range []string{"Errors", "Duration p99", `\"4xx\"`, `\"5xx\"`, "Latency", "ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible",
			`\"Send\"`, `\"Bounce\"`, `\"Complaint\"`, "SurveysSent", "ResponsesRecorded"} {
			if !strings.Contains(body, want) {
				t.Errorf("the dashboard does not show %s", want)
			}
		}
	}
	if outs, _ := a["Outputs"].(map[string]any); outs["DashboardUrl"] == nil {
		t.Errorf("no DashboardUrl output")
	}
	// The sweep runs one at a time and is not retried by Lambda.
	sweeps := 0
	for _, r := range resources(a, "AWS::Lambda::Function") {
		if strings.HasSuffix(props(r)["Description"].(string), " survey-sweep") && fmt.Sprint(props(r)["ReservedConcurrentExecutions"]) == "1" {
			sweeps++
		}
	}
	invokeConfigs := 0
	for _, r := range resources(a, "AWS::Lambda::EventInvokeConfig") {
		if fmt.Sprint(props(r)["MaximumRetryAttempts"]) == "0" && fmt.Sprint(props(r)["MaximumEventAgeInSeconds"]) == "120" {
			invokeConfigs++
		}
	}
	if sweeps != 1 || invokeConfigs != 1 {
		t.Errorf("sweep with reserved concurrency 1: %d; without async retries: %d; want 1 and 1", sweeps, invokeConfigs)
	}
}

// TestProductionStage: stage=prod refuses to synth with an example sender,
// without an alarm target or without a custom domain, naming the context
// value; with all three it synthesizes with termination protection. The
// dev stage only warns.
func TestProductionStage(t *testing.T) {
	assets := t.TempDir()
	for name := range Functions {
		os.MkdirAll(filepath.Join(assets, name), 0o755)
		os.WriteFile(filepath.Join(assets, name, "bootstrap"), []byte("test"), 0o755)
	}
	good := map[string]interface{}{
		"stage": "prod", "sender": "Acme <feedback@mail.acme.com>", "alarmEmail": "ops@acme.com",
		"domainName": "feedback.acme.com", "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc",
	}
	synth := func(change map[string]interface{}) (msg string, stack awscdk.Stack) {
		ctx := map[string]interface{}{}
		for k, v := range good {
			ctx[k] = v
		}
		for k, v := range change {
			if v == nil {
				delete(ctx, k)
			} else {
				ctx[k] = v
			}
		}
		defer func() {
			if r := recover(); r != nil {
				msg = fmt.Sprint(r)
			}
		}()
		app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
		return "", NewStack(app, "Prod", &StackProps{AssetDir: assets})
	}
	for _, tt := range []struct {
		change map[string]interface{}
		want   string
	}{
		{map[string]interface{}{"sender": "feedback@example.com"}, "context sender"},
		{map[string]interface{}{"sender": "Acme <feedback@mail.example.org>"}, "context sender"},
		{map[string]interface{}{"alarmEmail": nil}, "context alarmEmail"},
		{map[string]interface{}{"domainName": nil, "certificateArn": nil}, "context domainName"},
		{map[string]interface{}{"stage": "staging"}, "context stage"},
	} {
		if msg, _ := synth(tt.change); !strings.Contains(msg, tt.want) {
			t.Errorf("%v: synth said %q, want it to name %q", tt.change, msg, tt.want)
		}
	}
	msg, stack := synth(nil)
	if msg != "" || stack == nil || stack.TerminationProtection() == nil || !*stack.TerminationProtection() {
		t.Errorf("a complete production stage: %q, termination protection %v", msg, stack)
	}
	// The custom domain lies in no hosted zone given here: no record.
	if n := len(resources(*assertions.Template_FromStack(stack, nil).ToJSON(), "AWS::Route53::RecordSet")); n != 0 {
		t.Errorf("%d DNS records without a hosted zone", n)
	}
	msg, zoned := synth(map[string]interface{}{"sender": "Acme <feedback@acme.com>", "hostedZoneId": "Z0123456789ABC", "hostedZoneName": "acme.com"})
	if zoned == nil {
		t.Fatalf("with a hosted zone: %s", msg)
	}
	aliases := 0
	for _, r := range resources(*assertions.Template_FromStack(zoned, nil).ToJSON(), "AWS::Route53::RecordSet") {
		if p := props(r); p["Type"] == "A" && strings.HasPrefix(fmt.Sprint(p["Name"]), "feedback.acme.com") && p["AliasTarget"] != nil {
			aliases++
		}
	}
	if aliases != 1 {
		t.Errorf("%d alias records for the API's domain in its hosted zone, want 1", aliases)
	}
	// With a custom domain, the execute-api host is off: every link and
	// webhook goes through the domain.
	for _, r := range resources(*assertions.Template_FromStack(stack, nil).ToJSON(), "AWS::ApiGatewayV2::Api") {
		if props(r)["DisableExecuteApiEndpoint"] != true {
			t.Errorf("the execute-api endpoint stays on beside the custom domain")
		}
	}
	a, _ := templates(t)
	for _, r := range resources(a, "AWS::ApiGatewayV2::Api") {
		if props(r)["DisableExecuteApiEndpoint"] == true {
			t.Errorf("without a custom domain the execute-api endpoint is the only one, and it is off")
		}
	}
	msg, dev := synth(map[string]interface{}{"stage": "dev", "sender": "feedback@example.com", "alarmEmail": nil, "domainName": nil, "certificateArn": nil})
	if msg != "" {
		t.Fatalf("the dev stage refused an example sender: %s", msg)
	}
	// The dev stage warns, in the synth output, about each of the three.
	ann := assertions.Annotations_FromStack(dev)
	for _, want := range []string{"context sender", "context alarmEmail", "context domainName"} {
		if w := *ann.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String(".*"+want+".*"))); len(w) != 1 {
			t.Errorf("the dev stage gave %d warnings naming %s, want 1", len(w), want)
		}
	}
}

// TestLeastPrivilege: no managed *FullAccess policy, no wildcard service
// actions, SES sending only from the configured identity and configuration set.
func TestLeastPrivilege(t *testing.T) {
	a, _ := templates(t)
	for id, r := range resources(a, "AWS::IAM::Role") {
		if s := jsonOf(props(r)["ManagedPolicyArns"]); strings.Contains(s, "FullAccess") || strings.Contains(s, "AdministratorAccess") {
			t.Errorf("role %s has %s", id, s)
		}
	}
	// Logs: each function writes to its own log group only, not through
	// AWSLambdaBasicExecutionRole (logs:* on every group).
	for id, r := range resources(a, "AWS::IAM::Role") {
		if strings.Contains(jsonOf(r), "AWSLambdaBasicExecutionRole") {
			t.Errorf("role %s may write to any log group", id)
		}
	}
	for _, name := range sortedNames() {
		fn := strings.ReplaceAll(name, "-", "")
		found := false
		for id, r := range resources(a, "AWS::IAM::Policy") {
			if !strings.HasPrefix(strings.ToLower(id), fn) {
				continue
			}
			for _, st := range props(r)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				st := st.(map[string]any)
				if !strings.Contains(jsonOf(st["Action"]), "logs:") {
					continue
				}
				found = true
				if res := jsonOf(st["Resource"]); !strings.Contains(strings.ToLower(res), `"`+fn+`logs`) || strings.Contains(jsonOf(st["Action"]), "CreateLogGroup") {
					t.Errorf("%s may write logs to %s (%s), want its own group only", name, res, jsonOf(st["Action"]))
				}
			}
		}
		if !found {
			t.Errorf("%s may not write its logs", name)
		}
	}
	sesStatements, quotaReaders := 0, 0
	for id, r := range resources(a, "AWS::IAM::Policy") {
		for _, st := range props(r)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			st := st.(map[string]any)
			actions := st["Action"]
			list, ok := actions.([]any)
			if !ok {
				list = []any{actions}
			}
			for _, act := range list {
				s := act.(string)
				if s == "*" || strings.HasSuffix(s, ":*") {
					t.Errorf("policy %s allows %s", id, s)
				}
				if s == "ses:GetAccount" {
					// The senders read the account's quota; the call takes no resource.
					for _, other := range list {
						if o := other.(string); st["Resource"] == "*" && o != s && !strings.HasPrefix(o, "xray:Put") {
							t.Errorf("%s with ses:GetAccount on every resource: %s", o, id)
						}
					}
					quotaReaders++
					continue
				}
				if strings.HasPrefix(s, "ses:") {
					sesStatements++
					res := jsonOf(st["Resource"])
					if !strings.Contains(res, "identity/acme.example") || !strings.Contains(res, "configuration-set/") || strings.Contains(res, `"*"`) {
						t.Errorf("SES send is not scoped to the identity and configuration set: %s", res)
					}
					if c := jsonOf(st["Condition"]); !strings.Contains(c, `"ses:FromAddress":"feedback@acme.example"`) {
						t.Errorf("SES send is not limited to the sender's address: %s", c)
					}
				}
			}
		}
	}
	if sesStatements != 4 || quotaReaders != 4 {
		t.Errorf("%d SES statements and %d quota readers, want 4 each (survey-sweep, closing, api for sign-in links, digest)", sesStatements, quotaReaders)
	}
	// DynamoDB actions, function by function: a part of the store's Client
	// (shared/dynamo TestClientIsEveryCall); only the api function scans.
	client := map[string]bool{"GetItem": true, "BatchGetItem": true, "Query": true, "PutItem": true, "UpdateItem": true, "DeleteItem": true, "Scan": true}
	dynamoActions := map[string][]string{}
	for id, r := range resources(a, "AWS::IAM::Policy") {
		fn := ""
		for _, name := range sortedNames() {
			if strings.HasPrefix(strings.ToLower(id), strings.ReplaceAll(name, "-", "")) {
				fn = name
			}
		}
		for _, st := range props(r)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			actions := st.(map[string]any)["Action"]
			list, ok := actions.([]any)
			if !ok {
				list = []any{actions}
			}
			for _, act := range list {
				if a, ok := strings.CutPrefix(act.(string), "dynamodb:"); ok {
					if !client[a] {
						t.Errorf("%s may dynamodb:%s, which the code never calls", id, a)
					}
					dynamoActions[fn] = append(dynamoActions[fn], a)
				}
			}
		}
	}
	for fn, acts := range dynamoActions {
		if slices.Contains(acts, "Scan") != (fn == "api") {
			t.Errorf("%s may scan the table: %v", fn, acts)
		}
	}
	if got := dynamoActions["ses-events"]; !slices.Equal(got, []string{"UpdateItem"}) {
		t.Errorf("ses-events may %v, want UpdateItem only", got)
	}
	// The digest reads, and writes only its weekly claim and its share of
	// the sending rate (one counter a second).
	for id, r := range resources(a, "AWS::IAM::Policy") {
		if !strings.HasPrefix(strings.ToLower(id), "digest") {
			continue
		}
		js := jsonOf(r)
		for _, bad := range []string{"dynamodb:BatchWriteItem", "dynamodb:Scan"} {
			if strings.Contains(js, bad) {
				t.Errorf("the digest may %s", bad)
			}
		}
		if !strings.Contains(js, "dynamodb:PutItem") || !strings.Contains(js, "dynamodb:Query") {
			t.Errorf("the digest cannot claim its week or read the counters: %s", js)
		}
	}
}

// TestAPI: the routes of the HTTP surface, throttling and access logs; /api
// requires the admin token, which only its function can read.
func TestAPI(t *testing.T) {
	a, _ := templates(t)
	var routes []string
	for _, r := range resources(a, "AWS::ApiGatewayV2::Route") {
		routes = append(routes, props(r)["RouteKey"].(string))
	}
	sort.Strings(routes)
	want := []string{"ANY /api/{proxy+}", "GET /console", "GET /console/{proxy+}", "GET /s/{token}", "GET /u/{token}", "POST /console/{proxy+}", "POST /s/{token}", "POST /u/{token}", "POST /webhooks/{source}"}
	if d := cmp.Diff(want, routes); d != "" {
		t.Errorf("routes (-want +got):\n%s", d)
	}
	for _, r := range resources(a, "AWS::ApiGatewayV2::Stage") {
		p := props(r)
		rs, _ := p["DefaultRouteSettings"].(map[string]any)
		if rs["ThrottlingRateLimit"] == nil || rs["ThrottlingBurstLimit"] == nil {
			t.Errorf("stage without throttling: %v", rs)
		}
		if p["AccessLogSettings"] == nil {
			t.Errorf("stage without access logs")
		}
	}
	// Who reads which secret: each function only what it uses. The
	// internet-facing webhook never holds the admin token; the survey page
	// holds no secret (it checks unsubscribe links with a public key);
	// closing holds the Slack URL it posts alerts to and the key it signs
	// unsubscribe links with.
	secrets := []string{"AdminToken", "WebhookSecrets", "HelpdeskApis", "AlertWebhook", "ContactKey"}
	reads := map[string]string{"webhook": "WebhookSecrets ContactKey", "api": "AdminToken ContactKey", "response": "",
		"sesevents": "ContactKey", "surveysweep": "HelpdeskApis ContactKey", "closing": "AlertWebhook ContactKey", "digest": ""}
	got := map[string]string{}
	for id, r := range resources(a, "AWS::IAM::Policy") {
		js := jsonOf(r)
		for fn := range reads {
			if !strings.HasPrefix(strings.ToLower(id), fn) {
				continue
			}
			var reads []string
			for _, sec := range secrets {
				if strings.Contains(js, `"Ref":"`+sec) && strings.Contains(js, "secretsmanager:GetSecretValue") {
					reads = append(reads, sec)
				}
			}
			got[fn] = strings.Join(reads, " ")
		}
	}
	for fn, w := range reads {
		if got[fn] != w {
			t.Errorf("%s reads the secrets %q, want %q", fn, got[fn], w)
		}
	}
	// Each function is told where exactly the secrets it may read are.
	for id, r := range resources(a, "AWS::Lambda::Function") {
		fn := strings.TrimPrefix(props(r)["Description"].(string), "Closeloop ")
		env := jsonOf(props(r)["Environment"])
		for _, sec := range secrets {
			if strings.Contains(env, `"Ref":"`+sec) != strings.Contains(reads[strings.ReplaceAll(fn, "-", "")], sec) {
				t.Errorf("function %s (%s): CLOSELOOP_SECRET_ID and the secrets it may read differ on %s", id, fn, sec)
			}
		}
	}
	// And each function that may read secrets reads them at start: a grant
	// its code never uses is a secret it never gets (closing had the Slack
	// URL's grant and never read it, so no alert reached Slack in AWS).
	for dir, fn := range map[string]string{"webhook": "webhook", "api": "api", "response": "response", "ses-events": "sesevents", "survey-sweep": "surveysweep", "closing": "closing", "digest": "digest"} {
		src, err := os.ReadFile(filepath.Join("..", "functions", dir, "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		if loads := strings.Contains(string(src), "secrets.FromAWS"); loads != (reads[fn] != "") {
			t.Errorf("functions/%s/main.go reads secrets at start: %v; it may read %q", dir, loads, reads[fn])
		}
	}
	// Every key of every secret is a variable the functions read, or the
	// generated placeholder they skip (secrets.Parse refuses anything else,
	// and a function that cannot read its secrets stops at start).
	for id, r := range resources(a, "AWS::SecretsManager::Secret") {
		gen, _ := props(r)["GenerateSecretString"].(map[string]any)
		var keys map[string]any
		if tmpl, _ := gen["SecretStringTemplate"].(string); tmpl != "" {
			if err := json.Unmarshal([]byte(tmpl), &keys); err != nil {
				t.Fatalf("secret %s template: %v", id, err)
			}
		}
		if keys == nil {
			keys = map[string]any{}
		}
		if k, _ := gen["GenerateStringKey"].(string); k != "" {
			keys[k] = ""
		}
		for k := range keys {
			if !strings.HasPrefix(k, "CLOSELOOP_") && k != closeloop.SecretPlaceholder {
				t.Errorf("secret %s holds %q, which no function reads and secrets.Parse refuses", id, k)
			}
		}
	}
	// What goes in which secret.
	for id, r := range resources(a, "AWS::SecretsManager::Secret") {
		gen := jsonOf(props(r)["GenerateSecretString"])
		switch {
		case strings.HasPrefix(id, "AdminToken"):
			if !strings.Contains(gen, `"GenerateStringKey":"CLOSELOOP_ADMIN_TOKEN"`) {
				t.Errorf("admin token secret %s", gen)
			}
		case strings.HasPrefix(id, "WebhookSecrets"):
			if !strings.Contains(gen, `CLOSELOOP_SECRET_ZENDESK`) || strings.Contains(gen, "ADMIN_TOKEN") || strings.Contains(gen, "CLOSELOOP_API_") {
				t.Errorf("webhook secrets %s", gen)
			}
		case strings.HasPrefix(id, "HelpdeskApis"):
			if !strings.Contains(gen, `CLOSELOOP_API_HELPSCOUT_TOKEN`) || strings.Contains(gen, "ADMIN_TOKEN") {
				t.Errorf("helpdesk API credentials %s", gen)
			}
		}
	}
	for id, r := range resources(a, "AWS::SecretsManager::Secret") {
		if strings.HasPrefix(id, "ContactKey") && r["DeletionPolicy"] != "Retain" {
			t.Errorf("the contact key %s is deleted with the stack; losing it loses every suppression", id)
		}
	}
}

func TestNothingSecretInTheTemplate(t *testing.T) {
	a, _ := templates(t)
	s := jsonOf(a)
	for _, bad := range []string{"resolve:secretsmanager", `"SecretString":`, `CLOSELOOP_ADMIN_TOKEN":"`} {
		if strings.Contains(s, bad) {
			t.Errorf("the template contains %q", bad)
		}
	}
	for name, o := range a["Outputs"].(map[string]any) {
		if strings.Contains(strings.ToLower(jsonOf(o)), "secretstring") {
			t.Errorf("output %s exposes a secret value", name)
		}
	}
	// Every secret is findable by its ARN, the contact key's too
	// (docs/deploy.md: copy it into a redeployed stack's secret).
	for _, name := range []string{"AdminTokenSecretArn", "WebhookSecretsArn", "HelpdeskApisSecretArn", "AlertWebhookSecretArn", "ContactKeySecretArn"} {
		if o, ok := a["Outputs"].(map[string]any)[name]; !ok || !strings.Contains(jsonOf(o), `"Ref":`) {
			t.Errorf("no output %s holding the secret's ARN: %v", name, o)
		}
	}
}

// TestNagHasNoUnsuppressedFindings: cdk-nag's AWS Solutions and
// Serverless packs find nothing that is not suppressed with a reason,
// errors and warnings alike.
func TestNagHasNoUnsuppressedFindings(t *testing.T) {
	templates(t)
	for _, e := range synthesized.errors {
		t.Errorf("cdk-nag: %s", e)
	}
	for _, w := range synthesized.warnings {
		t.Errorf("cdk-nag warning: %s", w)
	}
}

// TestTwoStacksInOneAccount: nothing has a fixed physical name, so a second
// copy of the stack (another stage) deploys beside the first.
func TestTwoStacksInOneAccount(t *testing.T) {
	a, b := templates(t)
	names := []string{"TableName", "QueueName", "FunctionName", "LogGroupName", "TopicName", "RoleName", "DashboardName", "Name", "AliasName", "ConfigurationSetName", "DomainName"}
	literal := func(tmpl map[string]any) map[string]string {
		out := map[string]string{}
		for id, r := range tmpl["Resources"].(map[string]any) {
			p := props(r.(map[string]any))
			for _, n := range names {
				if v, ok := p[n].(string); ok {
					out[r.(map[string]any)["Type"].(string)+"."+n+"="+v] = id
				}
			}
		}
		return out
	}
	la, lb := literal(a), literal(b)
	for k := range la {
		if _, clash := lb[k]; clash && !strings.HasPrefix(k, "AWS::ApiGatewayV2::Api.Name=") {
			t.Errorf("both stacks create %s", k)
		}
	}
}

func firstLine(v any) string {
	s := fmt.Sprint(v)
	if p, ok := v.(*string); ok && p != nil {
		s = *p
	}
	return strings.SplitN(s, "\n", 2)[0]
}

// TestSendingDomain: with hostedZoneId and hostedZoneName, the stack creates
// the sender domain's SES identity with Easy DKIM and a custom MAIL FROM
// domain, their Route 53 records, and a DMARC record to add as an output; a
// zone that is not the sender's domain is refused.
func TestSendingDomain(t *testing.T) {
	assets := t.TempDir()
	for name := range Functions {
		os.MkdirAll(filepath.Join(assets, name), 0o755)
		os.WriteFile(filepath.Join(assets, name, "bootstrap"), []byte("test"), 0o755)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]interface{}{
		"sender": "Acme <feedback@acme.com>", "hostedZoneId": "Z0123456789ABC", "hostedZoneName": "acme.com",
	}})
	st := NewStack(app, "Mail", &StackProps{AssetDir: assets})
	tmpl := *assertions.Template_FromStack(st, nil).ToJSON()
	ids := resources(tmpl, "AWS::SES::EmailIdentity")
	if len(ids) != 1 {
		t.Fatalf("%d SES identities, want 1", len(ids))
	}
	for _, r := range ids {
		p := props(r)
		js := jsonOf(p)
		if p["EmailIdentity"] != "acme.com" || !strings.Contains(js, "RSA_2048_BIT") || !strings.Contains(js, `"MailFromDomain":"mail.acme.com"`) || !strings.Contains(js, "ConfigurationSetName") {
			t.Errorf("identity %s", js)
		}
	}
	kinds := map[string]int{}
	for _, r := range resources(tmpl, "AWS::Route53::RecordSet") {
		kinds[fmt.Sprint(props(r)["Type"])]++
	}
	if kinds["CNAME"] != 3 || kinds["MX"] != 1 || kinds["TXT"] != 1 {
		t.Errorf("DNS records by type %v, want 3 DKIM CNAMEs, the MAIL FROM MX and its SPF TXT", kinds)
	}
	if outs, _ := tmpl["Outputs"].(map[string]any); !strings.Contains(jsonOf(outs["DmarcRecord"]), "_dmarc.acme.com") {
		t.Errorf("no DMARC record output")
	}
	// Without a zone: the identity all the same, and its records as
	// outputs to add by hand.
	byHand := *assertions.Template_FromStack(NewStack(awscdk.NewApp(&awscdk.AppProps{Context: &map[string]interface{}{
		"sender": "Acme <feedback@acme.com>",
	}}), "ByHand", &StackProps{AssetDir: assets}), nil).ToJSON()
	if ids := resources(byHand, "AWS::SES::EmailIdentity"); len(ids) != 1 || len(resources(byHand, "AWS::Route53::RecordSet")) != 0 {
		t.Errorf("without a zone: %d identities (want 1) and %d records (want 0)", len(ids), len(resources(byHand, "AWS::Route53::RecordSet")))
	}
	outs, _ := byHand["Outputs"].(map[string]any)
	for name, want := range map[string]string{"DkimRecord1": "DkimDNSTokenName1", "DkimRecord2": "CNAME", "DkimRecord3": "DkimDNSTokenValue3",
		"MailFromMxRecord": "feedback-smtp.", "MailFromSpfRecord": "v=spf1 include:amazonses.com", "DmarcRecord": "_dmarc.acme.com"} {
		if !strings.Contains(jsonOf(outs[name]), want) {
			t.Errorf("output %s = %s, want it to hold %q", name, jsonOf(outs[name]), want)
		}
	}
	// An identity made outside the stack, named: used, not created.
	named := *assertions.Template_FromStack(NewStack(awscdk.NewApp(&awscdk.AppProps{Context: &map[string]interface{}{
		"sender": "Acme <feedback@acme.com>", "sesIdentity": "acme.com",
	}}), "Named", &StackProps{AssetDir: assets}), nil).ToJSON()
	if n := len(resources(named, "AWS::SES::EmailIdentity")); n != 0 || strings.Contains(jsonOf(named["Outputs"]), "DkimRecord") {
		t.Errorf("with sesIdentity: %d identities created, want none", n)
	}
	if !strings.Contains(jsonOf(named), `:identity/acme.com"`) {
		t.Errorf("with sesIdentity the functions may not send from it")
	}
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "hostedZoneName") {
				t.Errorf("a zone of another domain: %v", r)
			}
		}()
		NewStack(awscdk.NewApp(&awscdk.AppProps{Context: &map[string]interface{}{
			"sender": "feedback@acme.com", "hostedZoneId": "Z1", "hostedZoneName": "other.com",
		}}), "Bad", &StackProps{AssetDir: assets})
	}()
}

// cdkJSONContext is the context of ../cdk.json (feature flags and
// defaults), so tests synthesize what `cdk deploy` would.
func cdkJSONContext(t *testing.T) map[string]interface{} {
	t.Helper()
	b, err := os.ReadFile("../cdk.json")
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Context map[string]interface{} }
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.Context
}

// TestRecommendedFeatureFlags: cdk.json sets every feature flag the pinned
// aws-cdk-lib recommends (its recommended-feature-flags.json, read from the
// module's own package), to the recommended value.
func TestRecommendedFeatureFlags(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-cdk-go/awscdk/v2").Output()
	if err != nil {
		t.Fatal(err)
	}
	tgz, err := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "jsii", "aws-cdk-lib-*.tgz"))
	if err != nil || len(tgz) != 1 {
		t.Fatalf("aws-cdk-lib's package: %v %v", tgz, err)
	}
	f, err := os.Open(tgz[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var recommended map[string]any
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("no recommended-feature-flags.json in %s: %v", tgz[0], err)
		}
		if h.Name == "package/recommended-feature-flags.json" {
			if err := json.NewDecoder(tr).Decode(&recommended); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if len(recommended) < 50 {
		t.Fatalf("%d recommended flags: not the file expected", len(recommended))
	}
	ctx := cdkJSONContext(t)
	for flag, want := range recommended {
		if got, ok := ctx[flag]; !ok || jsonOf(got) != jsonOf(want) {
			t.Errorf("cdk.json %s = %v, want %v", flag, got, jsonOf(want))
		}
	}
}

// TestLookupSourcesMatch: the helpdesk API secret has a credential for
// every helpdesk Closeloop can look customers up in.
func TestLookupSourcesMatch(t *testing.T) {
	if !slices.Equal(lookupSources, helpdesk.LookupSources) {
		t.Errorf("infra's look-up sources %v, the code's %v", lookupSources, helpdesk.LookupSources)
	}
}

// TestSendingRateFromContext: with sesMaxRate every sender gets the shared
// ceiling and none reads the account's quota; a rate that is not a number
// is refused naming the context value.
func TestSendingRateFromContext(t *testing.T) {
	assets := t.TempDir()
	for name := range Functions {
		os.MkdirAll(filepath.Join(assets, name), 0o755)
		os.WriteFile(filepath.Join(assets, name, "bootstrap"), []byte("test"), 0o755)
	}
	st := NewStack(awscdk.NewApp(&awscdk.AppProps{Context: &map[string]interface{}{"sesMaxRate": "200"}}), "Rate", &StackProps{AssetDir: assets})
	tmpl := *assertions.Template_FromStack(st, nil).ToJSON()
	for id, r := range resources(tmpl, "AWS::Lambda::Function") {
		if !strings.Contains(jsonOf(props(r)["Environment"]), `"CLOSELOOP_SES_MAX_RATE":"200"`) {
			t.Errorf("%s has not the shared ceiling", id)
		}
	}
	for id, r := range resources(tmpl, "AWS::IAM::Policy") {
		if strings.Contains(jsonOf(props(r)["PolicyDocument"]), "ses:GetAccount") {
			t.Errorf("with sesMaxRate %s still reads the account's quota", id)
		}
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "CLOSELOOP_SES_MAX_RATE") {
			t.Errorf("sesMaxRate=fast: %v", r)
		}
	}()
	NewStack(awscdk.NewApp(&awscdk.AppProps{Context: &map[string]interface{}{"sesMaxRate": "fast"}}), "Bad", &StackProps{AssetDir: assets})
}

// TestScheduleSettingsFromContext: the send window, the reminder and
// check-in delays and the acknowledgement setting reach every function
// from their context values (sendWindow, reminderDelay, checkInDelay,
// acknowledge); left out, the code's defaults apply; a value the functions
// would refuse at start is refused at synth, naming the setting.
func TestScheduleSettingsFromContext(t *testing.T) {
	assets := t.TempDir()
	for name := range Functions {
		os.MkdirAll(filepath.Join(assets, name), 0o755)
		os.WriteFile(filepath.Join(assets, name, "bootstrap"), []byte("test"), 0o755)
	}
	ctx := map[string]interface{}{"sendWindow": "08:00-20:00 Mon-Sat", "reminderDelay": "48h", "checkInDelay": "0", "acknowledge": "all"}
	st := NewStack(awscdk.NewApp(&awscdk.AppProps{Context: &ctx}), "Schedule", &StackProps{AssetDir: assets})
	tmpl := *assertions.Template_FromStack(st, nil).ToJSON()
	for id, r := range resources(tmpl, "AWS::Lambda::Function") {
		env := jsonOf(props(r)["Environment"])
		for _, want := range []string{`"CLOSELOOP_SEND_WINDOW":"08:00-20:00 Mon-Sat"`, `"CLOSELOOP_REMINDER_DELAY":"48h"`, `"CLOSELOOP_CHECKIN_DELAY":"0"`, `"CLOSELOOP_ACKNOWLEDGE":"all"`} {
			if !strings.Contains(env, want) {
				t.Errorf("%s: no %s in %s", id, want, env)
			}
		}
	}
	plain := NewStack(awscdk.NewApp(nil), "Plain", &StackProps{AssetDir: assets})
	for id, r := range resources(*assertions.Template_FromStack(plain, nil).ToJSON(), "AWS::Lambda::Function") {
		if env := jsonOf(props(r)["Environment"]); strings.Contains(env, "CLOSELOOP_SEND_WINDOW") || strings.Contains(env, "CLOSELOOP_ACKNOWLEDGE") {
			t.Errorf("%s sets a schedule setting nobody gave: %s", id, env)
		}
	}
	for k, bad := range map[string]string{"sendWindow": "whenever", "reminderDelay": "soon", "checkInDelay": "-1h", "acknowledge": "maybe", "adminEmail": "lead at acme"} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "CLOSELOOP_") {
					t.Errorf("%s=%s: %v, want a refusal naming the setting", k, bad, r)
				}
			}()
			NewStack(awscdk.NewApp(&awscdk.AppProps{Context: &map[string]interface{}{k: bad}}), "Bad", &StackProps{AssetDir: assets})
		}()
	}
}
