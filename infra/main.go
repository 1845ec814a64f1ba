// Command infra is Closeloop's CDK app: one stack with every function, the
// HTTP API, the table, the queues, SES wiring, secrets, alarms and a
// dashboard. `make synth` and `make deploy` run it through the CDK CLI.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

func main() {
	defer jsii.Close()
	// A setting the stack refuses (a production stage with an example
	// sender, say) stops synth with its message alone, not a Go trace.
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintln(os.Stderr, "closeloop:", r)
			jsii.Close()
			os.Exit(1)
		}
	}()
	app := awscdk.NewApp(nil)
	NewStack(app, stackName(app), &StackProps{StackProps: awscdk.StackProps{
		Description: jsii.String("Closeloop: closes the customer feedback loop (webhooks, surveys, responses, 'you said, we did')"),
	}})
	// cdk-nag's AWS Solutions and Serverless rules run on every synth;
	// `make test` fails on any finding that is not suppressed with a reason.
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	awscdk.Aspects_Of(app).Add(cdknag.NewServerlessChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	app.Synth(nil)
}

// stackName is the context value stackName, or "Closeloop". A second copy
// in one account (staging) only needs another name: nothing in the stack has
// a fixed physical name.
func stackName(app awscdk.App) string {
	if v, ok := app.Node().TryGetContext(jsii.String("stackName")).(string); ok && v != "" {
		return v
	}
	return "Closeloop"
}
