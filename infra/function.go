package main

import (
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// FunctionSpec is what differs between Closeloop's functions; everything
// else is the same for all of them (see newFunction).
type FunctionSpec struct {
	// MemoryMB and Timeout are chosen per function; each spec says why.
	MemoryMB int
	Timeout  awscdk.Duration
	// ReservedConcurrency caps concurrent instances; 0 for no cap.
	ReservedConcurrency int
	// Env is added to the environment every function gets.
	Env map[string]*string
}

// logRetention is how long function logs are kept: long enough to debug a
// month-old complaint, short enough to stay cheap. Logs carry ids only.
const logRetention = awslogs.RetentionDays_ONE_MONTH

// newFunction makes one function the way every Closeloop function is made:
// the bootstrap from assetDir/<name> (built by `make build`), provided.al2023
// on arm64 (cheaper and faster to start than x86 for Go), JSON logs into its
// own log group with a set retention, and the shared environment.
func newFunction(scope constructs.Construct, name, assetDir string, spec FunctionSpec, env map[string]*string) awslambda.Function {
	logs := awslogs.NewLogGroup(scope, jsii.String(name+"Logs"), &awslogs.LogGroupProps{
		Retention:     logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	all := map[string]*string{}
	for k, v := range env {
		all[k] = v
	}
	for k, v := range spec.Env {
		all[k] = v
	}
	// Its own role, allowed to write its own log group only (Lambda's
	// managed AWSLambdaBasicExecutionRole allows every group).
	role := awsiam.NewRole(scope, jsii.String(name+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Closeloop " + name + " function"),
	})
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(*logs.LogGroupArn()),
	}))
	props := &awslambda.FunctionProps{
		Role:          role,
		Description:   jsii.String("Closeloop " + name),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          awslambda.Code_FromAsset(jsii.String(filepath.Join(assetDir, name)), nil),
		MemorySize:    jsii.Number(float64(spec.MemoryMB)),
		Timeout:       spec.Timeout,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		Tracing:       awslambda.Tracing_ACTIVE, // X-Ray: every log line carries the trace id
		LogGroup:      logs,
		Environment:   &all,
	}
	if spec.ReservedConcurrency > 0 {
		props.ReservedConcurrentExecutions = jsii.Number(float64(spec.ReservedConcurrency))
	}
	return awslambda.NewFunction(scope, jsii.String(name), props)
}
