package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53targets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/dynamo/schema"
)

// Functions is every Lambda of the stack, by its folder in functions/. A
// test fails when a folder has no entry here.
var Functions = map[string]FunctionSpec{
	// Answers helpdesks, which give up after 5 s (HubSpot) to 12 s
	// (Zendesk); the work is two small reads and writes. 256 MB gives a Go
	// function enough CPU for TLS and JSON without paying for idle memory.
	"webhook": {MemoryMB: 256, Timeout: awscdk.Duration_Seconds(jsii.Number(10))},
	// Renders a page or records an answer for a customer in a browser.
	"response": {MemoryMB: 256, Timeout: awscdk.Duration_Seconds(jsii.Number(10))},
	// Operators' API; metrics over a year read 366 items in 4 batches, and
	// erasure walks one person's items. API Gateway stops waiting at 30 s.
	"api": {MemoryMB: 512, Timeout: awscdk.Duration_Seconds(jsii.Number(29))},
	// Sends at its share of the account's SES rate, shared with every other
	// sender through the table, and stops claiming 5 s before its deadline
	// (25 s for a customer still to be looked up); the rule fires every
	// minute and the rest wait for the next run. One instance at a time, so
	// runs never overlap.
	"survey-sweep": {MemoryMB: 256, Timeout: awscdk.Duration_Seconds(jsii.Number(60)), ReservedConcurrency: 1},
	// Sends a batch of up to 5 messages × 25 recipients at the rate it shares
	// with every sender (under 10 s at SES's default 14/s when alone). Up to
	// five instances: as many as its queue trigger starts, so none is
	// throttled; together they never exceed the shared rate.
	"closing": {MemoryMB: 256, Timeout: awscdk.Duration_Seconds(jsii.Number(60)), ReservedConcurrency: closingInstances},
	// One conditional update per bounced or complaining address.
	"ses-events": {MemoryMB: 128, Timeout: awscdk.Duration_Seconds(jsii.Number(30))},
	// Fires hourly; on Monday morning in the team's zone it reads two weeks
	// of counters (two batches), a week of theme rollups (7 queries) and the
	// open cases, and sends one email.
	"digest": {MemoryMB: 128, Timeout: awscdk.Duration_Seconds(jsii.Number(30))},
}

// closingInstances is how many closing functions may run at once: the
// queue trigger's maximum and the function's reserved concurrency agree, so
// SQS never starts more than Lambda lets run (throttled messages would use
// up their receives toward the dead-letter queue).
const closingInstances = 5

// StackProps configure the stack. Everything else comes from context values
// (cdk.json or `cdk deploy -c key=value`), documented in docs/deploy.md.
type StackProps struct {
	awscdk.StackProps
	// AssetDir holds <function>/bootstrap for every function; the context
	// value assetDir, or ../build (what `make build` writes) when empty.
	AssetDir string
}

// settings are the context values, read once.
type settings struct {
	sender, identity, domain, certificateARN string
	delay, kind, fatigue, alarmEmail         string
	adminEmail                               string
	brandName, brandColor, brandLogoURL      string
	timeZone, alertEmail                     string
	stage                                    string            // dev (the default) or prod
	sourceEnv                                map[string]string // CLOSELOOP_SOURCE_<SOURCE>_* from the context value sources
	hostedZoneID, hostedZoneName             string            // a Route 53 zone of the sender's domain: the stack creates the SES identity and its DNS records
	existingIdentity                         bool              // sesIdentity names an identity made outside the stack: use it, create none
	sesMaxRate                               string            // emails a second every sender shares; empty for the account's SES quota
	senderDomain                             string
	// schedule holds CLOSELOOP_SEND_WINDOW, _REMINDER_DELAY, _CHECKIN_DELAY
	// and _ACKNOWLEDGE from the context values sendWindow, reminderDelay,
	// checkInDelay and acknowledge, when given (else the code's defaults).
	schedule map[string]string
}

// scheduleContext maps context values to the settings they set on every
// function.
var scheduleContext = map[string]string{
	"sendWindow":    "CLOSELOOP_SEND_WINDOW",
	"reminderDelay": "CLOSELOOP_REMINDER_DELAY",
	"checkInDelay":  "CLOSELOOP_CHECKIN_DELAY",
	"acknowledge":   "CLOSELOOP_ACKNOWLEDGE",
}

func readSettings(scope constructs.Construct) (settings, error) {
	get := func(k, def string) string {
		if v, ok := scope.Node().TryGetContext(jsii.String(k)).(string); ok && v != "" {
			return v
		}
		return def
	}
	s := settings{
		sender:         get("sender", "feedback@example.com"),
		domain:         get("domainName", ""),
		certificateARN: get("certificateArn", ""),
		delay:          get("surveyDelay", "1h"),
		kind:           get("surveyKind", "csat"),
		fatigue:        get("fatigueWindow", "168h"),
		alarmEmail:     get("alarmEmail", ""),
		adminEmail:     get("adminEmail", ""),
		brandName:      get("brandName", ""),
		brandColor:     get("brandColor", ""),
		brandLogoURL:   get("brandLogoUrl", ""),
		timeZone:       get("timeZone", "UTC"),
		stage:          get("stage", "dev"),
		alertEmail:     get("alertEmail", ""),
	}
	// sources: per-helpdesk settings, e.g. {"zendesk": {"surveyKind": "nps",
	// "surveyDelay": "2h", "checkIn": false, "ticketUrl": "https://acme.zendesk.com/agent/tickets/{id}"},
	// "hubspot": {"closedStages": "88123456"}}.
	s.sourceEnv = map[string]string{}
	if raw := scope.Node().TryGetContext(jsii.String("sources")); raw != nil {
		var per map[string]struct {
			SurveyKind, SurveyDelay, TicketURL, ClosedStages string
			CheckIn                                          *bool
		}
		b, _ := json.Marshal(raw)
		if str, ok := raw.(string); ok {
			b = []byte(str)
		}
		if err := json.Unmarshal(b, &per); err != nil {
			return s, fmt.Errorf("context sources: want a JSON object of helpdesk settings: %v", err)
		}
		for src, v := range per {
			if !closeloop.KnownSource(src) {
				return s, fmt.Errorf("context sources: unknown helpdesk %q", src)
			}
			pre := "CLOSELOOP_SOURCE_" + strings.ToUpper(src) + "_"
			for k, val := range map[string]string{"SURVEY_KIND": v.SurveyKind, "SURVEY_DELAY": v.SurveyDelay, "TICKET_URL": v.TicketURL, "CLOSED_STAGES": v.ClosedStages} {
				if val != "" {
					s.sourceEnv[pre+k] = val
				}
			}
			if v.CheckIn != nil {
				s.sourceEnv[pre+"CHECKIN"] = map[bool]string{true: "on", false: "off"}[*v.CheckIn]
			}
		}
	}
	addr, err := closeloop.SenderAddress(s.sender)
	if err != nil {
		return s, fmt.Errorf("context sender=%q: %v", s.sender, err)
	}
	_, senderDomain, _ := strings.Cut(addr, "@")
	s.identity = get("sesIdentity", senderDomain)
	s.existingIdentity, s.senderDomain = get("sesIdentity", "") != "", senderDomain
	if v := scope.Node().TryGetContext(jsii.String("sesMaxRate")); v != nil {
		s.sesMaxRate = fmt.Sprint(v)
	}
	s.schedule = map[string]string{}
	for ctxKey, envKey := range scheduleContext {
		if v := scope.Node().TryGetContext(jsii.String(ctxKey)); v != nil && fmt.Sprint(v) != "" {
			s.schedule[envKey] = fmt.Sprint(v)
		}
	}
	s.hostedZoneID, s.hostedZoneName = get("hostedZoneId", ""), strings.TrimSuffix(get("hostedZoneName", ""), ".")
	if (s.hostedZoneID == "") != (s.hostedZoneName == "") {
		return s, fmt.Errorf("context: hostedZoneId and hostedZoneName go together")
	}
	if s.hostedZoneName != "" && !strings.EqualFold(senderDomain, s.hostedZoneName) {
		return s, fmt.Errorf("context hostedZoneName=%q: the sender's domain %q must be the hosted zone's, so the stack can create its SES identity and records", s.hostedZoneName, senderDomain)
	}
	// Check the values the functions would refuse at start, at synth time.
	_, err = closeloop.LoadConfig(func(k string) string {
		return map[string]string{"CLOSELOOP_SURVEY_DELAY": s.delay, "CLOSELOOP_SURVEY_KIND": s.kind, "CLOSELOOP_FATIGUE_WINDOW": s.fatigue,
			"CLOSELOOP_BRAND_NAME": s.brandName, "CLOSELOOP_BRAND_COLOR": s.brandColor, "CLOSELOOP_BRAND_LOGO_URL": s.brandLogoURL,
			"CLOSELOOP_TIMEZONE": s.timeZone, "CLOSELOOP_ALERT_EMAIL": s.alertEmail, "CLOSELOOP_SES_MAX_RATE": s.sesMaxRate,
			"CLOSELOOP_ADMIN_EMAIL": s.adminEmail}[k] + s.sourceEnv[k] + s.schedule[k]
	})
	if err != nil {
		return s, fmt.Errorf("context: %w", err)
	}
	if (s.domain == "") != (s.certificateARN == "") {
		return s, fmt.Errorf("context: domainName and certificateArn go together")
	}
	if s.stage != "dev" && s.stage != "prod" {
		return s, fmt.Errorf("context stage=%q: want dev or prod", s.stage)
	}
	return s, nil
}

// unsafe lists what a production stack must not have: an example sender
// (SES refuses every send, and every survey is marked failed), no alarm
// target (failures reach nobody), no custom domain (links on the
// execute-api host). Each names the context value to set.
// exampleDomain reports whether domain is one of the names reserved for
// examples (RFC 2606: example.com, .net, .org, the .example TLD), or a
// subdomain of one, such as mail.example.com.
func exampleDomain(domain string) bool {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	for _, d := range []string{"example.com", "example.net", "example.org", "example"} {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return true
		}
	}
	return strings.HasPrefix(domain, "example.")
}

func (s settings) unsafe() []string {
	var out []string
	addr, _ := closeloop.SenderAddress(s.sender)
	if _, domain, _ := strings.Cut(addr, "@"); exampleDomain(domain) {
		out = append(out, fmt.Sprintf("context sender=%q is an example address: set sender to an address of your SES identity", s.sender))
	}
	if s.alarmEmail == "" {
		out = append(out, "context alarmEmail is not set: alarms would reach nobody")
	}
	if s.domain == "" {
		out = append(out, "context domainName (with certificateArn) is not set: links in emails would point at the execute-api host")
	}
	return out
}

// NewStack defines Closeloop in one stack.
func NewStack(scope constructs.Construct, id string, props *StackProps) awscdk.Stack {
	sp := props.StackProps
	if v, _ := scope.Node().TryGetContext(jsii.String("stage")).(string); v == "prod" {
		sp.TerminationProtection = jsii.Bool(true) // a production stack is not deleted by accident
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &sp)
	cfg, err := readSettings(stack)
	if err != nil {
		panic(err) // synth stops with the message; the CDK CLI shows it
	}
	if problems := cfg.unsafe(); len(problems) > 0 {
		if cfg.stage == "prod" {
			panic(fmt.Errorf("a production stage (stage=prod) refuses to synth: %s", strings.Join(problems, "; ")))
		}
		for _, p := range problems {
			awscdk.Annotations_Of(stack).AddWarning(jsii.String(p + " (fine for trying it out; stage=prod refuses it)"))
		}
	}
	assetDir := props.AssetDir
	if assetDir == "" {
		assetDir = "../build"
		if v, ok := stack.Node().TryGetContext(jsii.String("assetDir")).(string); ok && v != "" {
			assetDir = v
		}
	}

	table := newTable(stack)
	sec := newSecrets(stack)
	contactKey := newContactKey(stack)

	// Queues: the closing fan-out, and SES's bounce and complaint events.
	closingDLQ := newQueue(stack, "ClosingDeadLetters", nil, 0)
	closingQueue := newQueue(stack, "ClosingQueue", closingDLQ, 6*60)
	sesDLQ := newQueue(stack, "SesEventsDeadLetters", nil, 0)
	sesQueue := newQueue(stack, "SesEventsQueue", sesDLQ, 6*30)

	// SES: a configuration set whose bounce and complaint events go to the
	// default event bus, and from there to the ses-events queue.
	configSet := awsses.NewConfigurationSet(stack, jsii.String("ConfigurationSet"), &awsses.ConfigurationSetProps{
		ReputationMetrics: jsii.Bool(true),
		SendingEnabled:    jsii.Bool(true),
		TlsPolicy:         awsses.ConfigurationSetTlsPolicy_REQUIRE,
	})
	if !cfg.existingIdentity {
		newSendingDomain(stack, cfg, configSet)
	}
	defaultBus := awsevents.EventBus_FromEventBusName(stack, jsii.String("DefaultBus"), jsii.String("default"))
	configSet.AddEventDestination(jsii.String("BouncesAndComplaints"), &awsses.ConfigurationSetEventDestinationOptions{
		Destination: awsses.EventDestination_EventBus(defaultBus),
		Events:      &[]awsses.EmailSendingEvent{awsses.EmailSendingEvent_BOUNCE, awsses.EmailSendingEvent_COMPLAINT},
	})
	sesRule := awsevents.NewRule(stack, jsii.String("SesEventsRule"), &awsevents.RuleProps{
		Description: jsii.String("Closeloop: SES bounces and complaints of this stack's configuration set"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.ses"),
			DetailType: jsii.Strings("Email Bounced", "Email Complaint Received"),
			Detail: &map[string]interface{}{
				"mail": map[string]interface{}{"tags": map[string]interface{}{"ses:configuration-set": []interface{}{configSet.ConfigurationSetName()}}},
			},
		},
	})
	sesRule.AddTarget(awseventstargets.NewSqsQueue(sesQueue, &awseventstargets.SqsQueueProps{DeadLetterQueue: sesDLQ}))

	// The HTTP API comes first: the functions that write links need its URL.
	api, baseURL := newHTTPAPI(stack, cfg)

	env := map[string]*string{
		"CLOSELOOP_TABLE":          table.TableName(),
		"CLOSELOOP_SURVEY_DELAY":   jsii.String(cfg.delay),
		"CLOSELOOP_SURVEY_KIND":    jsii.String(cfg.kind),
		"CLOSELOOP_FATIGUE_WINDOW": jsii.String(cfg.fatigue),
		"CLOSELOOP_FROM":           jsii.String(cfg.sender),
		// Every function counts days in the team's zone, so reports agree.
		"CLOSELOOP_TIMEZONE": jsii.String(cfg.timeZone),
	}
	if cfg.sesMaxRate != "" {
		env["CLOSELOOP_SES_MAX_RATE"] = jsii.String(cfg.sesMaxRate) // the senders' shared ceiling, instead of the account's quota
	}
	for k, v := range cfg.sourceEnv {
		env[k] = jsii.String(v) // per-helpdesk settings: the webhook schedules with them, alerts and the console link tickets
	}
	for k, v := range cfg.schedule {
		env[k] = jsii.String(v) // the send window, reminders, check-ins and acknowledgements
	}
	fns := map[string]awslambda.Function{}
	for _, name := range sortedNames() {
		spec := Functions[name]
		spec.Env = map[string]*string{}
		// Secrets are read from Secrets Manager at start, each function
		// only the ones it uses; the environment holds only their ARNs.
		if ids := secretsOf(name, sec, contactKey); len(ids) > 0 {
			var arns []*string
			for _, s := range ids {
				arns = append(arns, s.SecretArn())
			}
			spec.Env["CLOSELOOP_SECRET_ID"] = awscdk.Fn_Join(jsii.String(","), &arns)
		}
		switch name {
		case "survey-sweep", "closing", "digest":
			spec.Env["CLOSELOOP_BASE_URL"] = baseURL
			spec.Env["CLOSELOOP_SES_CONFIGURATION_SET"] = configSet.ConfigurationSetName()
		}
		if cfg.alertEmail != "" && (name == "closing" || name == "digest" || name == "api") {
			// Detractor alerts, the weekly digest, and where customers'
			// replies to a personal reply go.
			spec.Env["CLOSELOOP_ALERT_EMAIL"] = jsii.String(cfg.alertEmail)
		}
		if name == "api" || name == "closing" || name == "response" {
			// response queues the team's alerts of an unhappy answer there.
			spec.Env["CLOSELOOP_CLOSING_QUEUE_URL"] = closingQueue.QueueUrl()
		}
		if name != "webhook" && name != "ses-events" {
			// The brand is on every email and page these render.
			for k, v := range map[string]string{"CLOSELOOP_BRAND_NAME": cfg.brandName, "CLOSELOOP_BRAND_COLOR": cfg.brandColor, "CLOSELOOP_BRAND_LOGO_URL": cfg.brandLogoURL} {
				if v != "" {
					spec.Env[k] = jsii.String(v)
				}
			}
		}
		if name == "api" {
			// closeloop dlq lists and replays the dead letters.
			spec.Env["CLOSELOOP_CLOSING_DLQ_URL"] = closingDLQ.QueueUrl()
			spec.Env["CLOSELOOP_SES_EVENTS_DLQ_URL"] = sesDLQ.QueueUrl()
			spec.Env["CLOSELOOP_SES_EVENTS_QUEUE_URL"] = sesQueue.QueueUrl()
			// The console emails sign-in links and test announcements.
			spec.Env["CLOSELOOP_BASE_URL"] = baseURL
			spec.Env["CLOSELOOP_SES_CONFIGURATION_SET"] = configSet.ConfigurationSetName()
			if cfg.adminEmail != "" {
				spec.Env["CLOSELOOP_ADMIN_EMAIL"] = jsii.String(cfg.adminEmail)
			}
		}
		fns[name] = newFunction(stack, name, assetDir, spec, env)
		cdknag.NagSuppressions_AddResourceSuppressions(fns[name].Role(), &[]*cdknag.NagPackSuppression{{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("Active tracing grants xray:PutTraceSegments and xray:PutTelemetryRecords, and the senders read their SES quota with ses:GetAccount: none of the three takes resource-level permissions (AWS requires Resource *)."),
			AppliesTo: &[]interface{}{jsii.String("Resource::*")},
		}}, jsii.Bool(true))
	}

	// Least privilege, function by function. On the table: the store's
	// Client interface is every DynamoDB call the code can make
	// (shared/dynamo, TestClientIsEveryCall); each function gets the calls
	// its own Store interface's methods make (TestLeastPrivilege holds the
	// lists), and the table's indexes only if it queries them. Only the api
	// function may Scan (the contact-id migration): the internet-facing
	// webhook and survey page cannot list the table. Nobody gets batch
	// writes, transactions or streams, which the code never uses.
	for name, actions := range tableActions {
		var a []*string
		for _, x := range actions {
			a = append(a, jsii.String("dynamodb:"+x))
		}
		if slices.Contains(actions, "Query") {
			table.Grant(fns[name], a...) // the table and its indexes
			sup := nagReason("AwsSolutions-IAM5", "This function queries the table's own global secondary indexes (<table>/index/*: the due surveys, a person's surveys, a day's answers); no other table is reachable.")
			sup.AppliesTo = &[]interface{}{jsii.String("Resource::<" + resolveLogicalID(stack, table) + ".Arn>/index/*")}
			cdknag.NagSuppressions_AddResourceSuppressions(fns[name].Role(), &[]*cdknag.NagPackSuppression{sup}, jsii.Bool(true))
			continue
		}
		fns[name].AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: &a, Resources: &[]*string{table.TableArn()}})) // the table alone
	}
	for name, fn := range fns {
		for _, s := range secretsOf(name, sec, contactKey) {
			s.GrantRead(fn, nil)
		}
	}
	closingQueue.GrantSendMessages(fns["api"])
	closingQueue.GrantSendMessages(fns["closing"])
	closingQueue.GrantSendMessages(fns["response"])
	closingDLQ.GrantConsumeMessages(fns["api"]) // closeloop dlq: read, then delete what was replayed
	sesDLQ.GrantConsumeMessages(fns["api"])
	sesQueue.GrantSendMessages(fns["api"])
	fromAddress, _ := closeloop.SenderAddress(cfg.sender)
	sendEmail := awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("ses:SendEmail"),
		Resources: &[]*string{
			stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ses"), Resource: jsii.String("identity"), ResourceName: jsii.String(cfg.identity)}),
			stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ses"), Resource: jsii.String("configuration-set"), ResourceName: configSet.ConfigurationSetName()}),
		},
		// Only from the configured sender, not any address of the domain.
		Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"ses:FromAddress": fromAddress}},
	})
	// Every sender shares the account's sending rate through the table
	// (shared/mail.Shared): CLOSELOOP_SES_MAX_RATE (context sesMaxRate), or
	// the quota SES's GetAccount reports, which takes no resource.
	readQuota := awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("ses:GetAccount"), Resources: jsii.Strings("*"),
	})
	for _, name := range []string{"survey-sweep", "closing", "api", "digest"} {
		fns[name].AddToRolePolicy(sendEmail)
		if cfg.sesMaxRate == "" {
			fns[name].AddToRolePolicy(readQuota)
		}
	}

	// Triggers.
	integrate(api, fns["webhook"], "/webhooks/{source}", awsapigatewayv2.HttpMethod_POST)
	integrate(api, fns["response"], "/s/{token}", awsapigatewayv2.HttpMethod_GET, awsapigatewayv2.HttpMethod_POST)
	integrate(api, fns["response"], "/u/{token}", awsapigatewayv2.HttpMethod_GET, awsapigatewayv2.HttpMethod_POST)
	integrate(api, fns["api"], "/api/{proxy+}", awsapigatewayv2.HttpMethod_ANY)
	integrate(api, fns["api"], "/console", awsapigatewayv2.HttpMethod_GET)
	integrate(api, fns["api"], "/console/{proxy+}", awsapigatewayv2.HttpMethod_GET, awsapigatewayv2.HttpMethod_POST)
	// A sweep that fails is not run again by Lambda: the next minute's run
	// picks up where it stopped, and a late retry would only overlap it.
	// A schedule EventBridge cannot hand to its function (throttled, the
	// function missing), and a run that fails for good, land in a
	// dead-letter queue that raises an alarm, instead of vanishing.
	scheduleDLQ := newQueue(stack, "ScheduleDeadLetters", nil, 0)
	fns["survey-sweep"].ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		RetryAttempts: jsii.Number(0), MaxEventAge: awscdk.Duration_Minutes(jsii.Number(2)),
		OnFailure: awslambdadestinations.NewSqsDestination(scheduleDLQ),
	})
	fns["digest"].ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		RetryAttempts: jsii.Number(2), MaxEventAge: awscdk.Duration_Minutes(jsii.Number(30)),
		OnFailure: awslambdadestinations.NewSqsDestination(scheduleDLQ),
	})
	awsevents.NewRule(stack, jsii.String("SweepSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Closeloop: send due surveys every minute"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(1))),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fns["survey-sweep"], &awseventstargets.LambdaFunctionProps{
			RetryAttempts: jsii.Number(0), MaxEventAge: awscdk.Duration_Minutes(jsii.Number(2)), DeadLetterQueue: scheduleDLQ,
		})},
	})
	awsevents.NewRule(stack, jsii.String("DigestSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Closeloop: the weekly digest, sent on the first run from 08:00 on Monday in the team's zone (timeZone)"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Hours(jsii.Number(1))),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fns["digest"], &awseventstargets.LambdaFunctionProps{
			RetryAttempts: jsii.Number(2), MaxEventAge: awscdk.Duration_Minutes(jsii.Number(30)), DeadLetterQueue: scheduleDLQ,
		})},
	})
	fns["closing"].AddEventSource(awslambdaeventsources.NewSqsEventSource(closingQueue, &awslambdaeventsources.SqsEventSourceProps{
		// Instances share the sending rate through the table, so more of
		// them reach a larger quota without exceeding it.
		BatchSize: jsii.Number(5), ReportBatchItemFailures: jsii.Bool(true), MaxConcurrency: jsii.Number(closingInstances),
	}))
	fns["ses-events"].AddEventSource(awslambdaeventsources.NewSqsEventSource(sesQueue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize: jsii.Number(10), ReportBatchItemFailures: jsii.Bool(true),
	}))

	dashboard := newAlarms(stack, cfg, fns, []awssqs.Queue{closingDLQ, sesDLQ, scheduleDLQ}, []awssqs.Queue{closingQueue, sesQueue}, api, table)
	awscdk.NewCfnOutput(stack, jsii.String("DashboardUrl"), &awscdk.CfnOutputProps{
		Value:       awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://console.aws.amazon.com/cloudwatch/home?region="), stack.Region(), jsii.String("#dashboards:name="), dashboard}),
		Description: jsii.String("The CloudWatch dashboard: function errors and p99 duration, API 5xx and latency, queue age, dead letters, SES reputation"),
	})

	awscdk.NewCfnOutput(stack, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{Value: baseURL, Description: jsii.String("Base URL: webhooks at <ApiUrl>/webhooks/<source>, operators' API at <ApiUrl>/api/, console at <ApiUrl>/console")})
	for _, o := range []struct {
		id, desc string
		s        awssecretsmanager.Secret
	}{
		{"AdminTokenSecretArn", "The secret holding CLOSELOOP_ADMIN_TOKEN, read by the api function (the ARN, not the value)", sec.admin},
		{"WebhookSecretsArn", "The secret holding each helpdesk's CLOSELOOP_SECRET_<SOURCE>, read by the webhook function", sec.webhooks},
		{"HelpdeskApisSecretArn", "The secret holding CLOSELOOP_API_<SOURCE>_URL and _TOKEN for look-ups, read by the survey-sweep function", sec.apis},
		{"AlertWebhookSecretArn", "The secret holding CLOSELOOP_ALERT_WEBHOOK_URL (Slack), read by the closing function", sec.alert},
		{"ContactKeySecretArn", "The secret holding CLOSELOOP_CONTACT_KEY (never rotate it: docs/deploy.md), read by webhook, api, ses-events, survey-sweep and closing", contactKey},
	} {
		awscdk.NewCfnOutput(stack, jsii.String(o.id), &awscdk.CfnOutputProps{Value: o.s.SecretArn(), Description: jsii.String(o.desc)})
	}
	awscdk.NewCfnOutput(stack, jsii.String("TableName"), &awscdk.CfnOutputProps{Value: table.TableName()})
	awscdk.NewCfnOutput(stack, jsii.String("ConfigurationSetName"), &awscdk.CfnOutputProps{Value: configSet.ConfigurationSetName()})

	suppress(stack, table, sec, contactKey, api)
	suppressServerless(fns, []awssqs.Queue{closingDLQ, sesDLQ, scheduleDLQ}, scheduleDLQ)
	return stack
}

func sortedNames() []string {
	var names []string
	for n := range Functions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// newTable builds the table from schema.Closeloop, the description the local
// table creation uses too.
func newTable(stack awscdk.Stack) awsdynamodb.Table {
	t := schema.Closeloop
	str := awsdynamodb.AttributeType_STRING
	table := awsdynamodb.NewTable(stack, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(t.PartitionKey), Type: str},
		SortKey:      &awsdynamodb.Attribute{Name: jsii.String(t.SortKey), Type: str},
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		Encryption:          awsdynamodb.TableEncryption_AWS_MANAGED,
		TimeToLiveAttribute: jsii.String(t.TTLAttribute),
		DeletionProtection:  jsii.Bool(true),
		// Responses and contacts outlive any one deployment.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	for _, ix := range t.Indexes {
		table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(ix.Name),
			PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(ix.PartitionKey), Type: str},
			SortKey:        &awsdynamodb.Attribute{Name: jsii.String(ix.SortKey), Type: str},
			ProjectionType: awsdynamodb.ProjectionType(ix.Projection),
		})
	}
	return table
}

// tableActions are the DynamoDB calls each function's code makes: the
// methods of its Store interface (shared/fn/<name>), call by call.
var tableActions = map[string][]string{
	"webhook":      {"GetItem", "PutItem", "UpdateItem"},                                                // tickets, contacts, counters, check-ins
	"response":     {"GetItem", "Query", "PutItem", "UpdateItem"},                                       // links, the answer, themes, counters, cases
	"survey-sweep": {"GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem"},                         // the due index, claims, surveys and links; an unsent survey is deleted
	"closing":      {"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "DeleteItem"},         // theme members, a batch read at once, claims (released by deleting), outcomes, progress
	"api":          {"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "Scan"}, // everything operators do; Scan for the contact-id migration
	"ses-events":   {"UpdateItem"},                                                                      // suppress an address
	"digest":       {"GetItem", "BatchGetItem", "Query", "PutItem", "DeleteItem", "UpdateItem"},         // counters, rollups, open cases, its weekly claim (read back when its answer was lost), its share of the sending rate
}

// secrets are the stack's secrets, split by who reads them. Each is a JSON
// object whose keys are the variables the functions read locally.
type secrets struct {
	admin    awssecretsmanager.Secret // CLOSELOOP_ADMIN_TOKEN, generated: the api function
	webhooks awssecretsmanager.Secret // CLOSELOOP_SECRET_<SOURCE>: the webhook function
	apis     awssecretsmanager.Secret // CLOSELOOP_API_<SOURCE>_URL, _TOKEN: the sweep, which looks customers up
	alert    awssecretsmanager.Secret // CLOSELOOP_ALERT_WEBHOOK_URL: the closing function, which posts alerts
}

// secretsOf lists the secrets function name reads, and so may read.
func secretsOf(name string, s secrets, contactKey awssecretsmanager.Secret) []awssecretsmanager.Secret {
	switch name {
	case "webhook":
		return []awssecretsmanager.Secret{s.webhooks, contactKey}
	case "api":
		return []awssecretsmanager.Secret{s.admin, contactKey}
	case "survey-sweep":
		return []awssecretsmanager.Secret{s.apis, contactKey}
	case "closing":
		return []awssecretsmanager.Secret{s.alert, contactKey} // the key signs unsubscribe links
	case "ses-events":
		return []awssecretsmanager.Secret{contactKey} // suppresses addresses by their keyed id
	}
	return nil // response, the public page (it checks unsubscribe links with a public key), and digest hold no secret
}

// newSecrets makes the four secrets, empty but for the generated admin
// token: a source without its webhook secret refuses every delivery, one
// without API credentials has no look-ups, and no alert URL means no Slack
// alerts, until the operator fills them in (docs/deploy.md).
func newSecrets(stack awscdk.Stack) secrets {
	empty := func(id, desc string, keys []string) awssecretsmanager.Secret {
		m := map[string]string{}
		for _, k := range keys {
			m[k] = ""
		}
		b, _ := json.Marshal(m)
		return awssecretsmanager.NewSecret(stack, jsii.String(id), &awssecretsmanager.SecretProps{
			Description: jsii.String(desc),
			// Generated, so the template holds no value: the variables
			// start empty, beside a generated key nobody reads.
			GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
				SecretStringTemplate: jsii.String(string(b)), GenerateStringKey: jsii.String(closeloop.SecretPlaceholder), PasswordLength: jsii.Number(8),
			},
		})
	}
	var hooks, apis []string
	for _, s := range closeloop.Sources {
		hooks = append(hooks, "CLOSELOOP_SECRET_"+strings.ToUpper(s))
	}
	for _, s := range lookupSources {
		apis = append(apis, "CLOSELOOP_API_"+strings.ToUpper(s)+"_URL", "CLOSELOOP_API_"+strings.ToUpper(s)+"_TOKEN")
	}
	return secrets{
		admin: awssecretsmanager.NewSecret(stack, jsii.String("AdminToken"), &awssecretsmanager.SecretProps{
			Description: jsii.String("Closeloop: CLOSELOOP_ADMIN_TOKEN, the bootstrap admin token of /api (read by the api function)"),
			GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
				SecretStringTemplate: jsii.String("{}"),
				GenerateStringKey:    jsii.String("CLOSELOOP_ADMIN_TOKEN"),
				ExcludePunctuation:   jsii.Bool(true),
				PasswordLength:       jsii.Number(48),
			},
		}),
		webhooks: empty("WebhookSecrets", "Closeloop: CLOSELOOP_SECRET_<SOURCE>, each helpdesk's webhook signing secret (read by the webhook function)", hooks),
		apis:     empty("HelpdeskApis", "Closeloop: CLOSELOOP_API_<SOURCE>_URL and _TOKEN, helpdesk API credentials for look-ups (read by survey-sweep)", apis),
		alert:    empty("AlertWebhook", "Closeloop: CLOSELOOP_ALERT_WEBHOOK_URL, the Slack-compatible webhook for detractor alerts (read by the closing function)", []string{"CLOSELOOP_ALERT_WEBHOOK_URL"}),
	}
}

// lookupSources are the helpdesks Closeloop can look customers up in
// (shared/helpdesk.LookupSources; a test holds the two together).
var lookupSources = []string{"intercom", "zendesk", "hubspot", "jira", "front", "helpscout"}

// newSendingDomain creates the SES identity of the sender's domain: Easy
// DKIM (2048-bit keys, three CNAME records), a custom MAIL FROM domain
// (mail.<domain>, with its MX and SPF records) so SPF aligns, and the
// stack's configuration set as its default. With a Route 53 zone
// (hostedZoneId, hostedZoneName) the stack writes the records; without, they
// are outputs to add by hand. Gmail's and Yahoo's bulk-sender rules want
// DKIM and SPF aligned and a DMARC record; the DMARC record to start with
// is an output (a domain has one, so the stack does not overwrite it). An
// identity made outside the stack is named with sesIdentity instead.
func newSendingDomain(stack awscdk.Stack, cfg settings, configSet awsses.ConfigurationSet) {
	domain := cfg.senderDomain
	props := &awsses.EmailIdentityProps{
		Identity:         awsses.Identity_Domain(jsii.String(domain)),
		DkimIdentity:     awsses.DkimIdentity_EasyDkim(awsses.EasyDkimSigningKeyLength_RSA_2048_BIT),
		MailFromDomain:   jsii.String("mail." + domain),
		ConfigurationSet: configSet,
	}
	if cfg.hostedZoneName != "" {
		zone := awsroute53.PublicHostedZone_FromHostedZoneAttributes(stack, jsii.String("SenderZone"), &awsroute53.HostedZoneAttributes{
			HostedZoneId: jsii.String(cfg.hostedZoneID), ZoneName: jsii.String(cfg.hostedZoneName),
		})
		props.Identity = awsses.Identity_PublicHostedZone(zone)
	}
	identity := awsses.NewEmailIdentity(stack, jsii.String("SenderIdentity"), props)
	if cfg.hostedZoneName == "" {
		// No zone to write to: the records to add by hand, as outputs.
		record := func(id, desc string, parts ...*string) {
			awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{
				Value: awscdk.Fn_Join(jsii.String(" "), &parts), Description: jsii.String(desc),
			})
		}
		for i, tok := range [][2]*string{
			{identity.DkimDnsTokenName1(), identity.DkimDnsTokenValue1()},
			{identity.DkimDnsTokenName2(), identity.DkimDnsTokenValue2()},
			{identity.DkimDnsTokenName3(), identity.DkimDnsTokenValue3()},
		} {
			record(fmt.Sprintf("DkimRecord%d", i+1), "Add this CNAME record at your DNS provider: SES signs with DKIM once all three resolve", tok[0], jsii.String("CNAME"), tok[1])
		}
		record("MailFromMxRecord", "Add this MX record: bounces come back to SES through the custom MAIL FROM domain",
			jsii.String("mail."+domain), jsii.String("MX 10"), awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("feedback-smtp."), stack.Region(), jsii.String(".amazonses.com")}))
		record("MailFromSpfRecord", "Add this TXT record: SPF for the custom MAIL FROM domain",
			jsii.String("mail."+domain), jsii.String(`TXT "v=spf1 include:amazonses.com ~all"`))
	}
	awscdk.NewCfnOutput(stack, jsii.String("DmarcRecord"), &awscdk.CfnOutputProps{
		Value:       jsii.String("_dmarc." + domain + " TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@" + domain + "\""),
		Description: jsii.String("Add this DMARC record if the domain has none (docs/deploy.md); move to p=quarantine once reports look clean"),
	})
}

// newContactKey is the secret contact ids are keyed with
// (CLOSELOOP_CONTACT_KEY, generated at the first deploy). It is never
// rotated and outlives the stack: a new key would give every person a new
// id, losing their suppressions and survey history (docs/privacy.md).
func newContactKey(stack awscdk.Stack) awssecretsmanager.Secret {
	return awssecretsmanager.NewSecret(stack, jsii.String("ContactKey"), &awssecretsmanager.SecretProps{
		Description:   jsii.String("Closeloop: CLOSELOOP_CONTACT_KEY, the HMAC key of contact ids. Never rotate it (docs/privacy.md)."),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			SecretStringTemplate: jsii.String("{}"),
			GenerateStringKey:    jsii.String("CLOSELOOP_CONTACT_KEY"),
			ExcludePunctuation:   jsii.Bool(true),
			PasswordLength:       jsii.Number(64),
		},
	})
}

// newQueue is an encrypted queue that refuses plain HTTP. With dlq set,
// messages move there after 5 receives; visibility is in seconds.
func newQueue(stack awscdk.Stack, id string, dlq awssqs.Queue, visibility float64) awssqs.Queue {
	props := &awssqs.QueueProps{
		Encryption: awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL: jsii.Bool(true),
	}
	if dlq == nil {
		props.RetentionPeriod = awscdk.Duration_Days(jsii.Number(14))
	} else {
		// Six times the consumer's timeout, as Lambda recommends.
		props.VisibilityTimeout = awscdk.Duration_Seconds(jsii.Number(visibility))
		props.DeadLetterQueue = &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(5)}
	}
	return awssqs.NewQueue(stack, jsii.String(id), props)
}

// newHTTPAPI makes the HTTP API with throttling and access logs, on a custom
// domain when one is configured, and returns it with the public base URL.
func newHTTPAPI(stack awscdk.Stack, cfg settings) (awsapigatewayv2.HttpApi, *string) {
	props := &awsapigatewayv2.HttpApiProps{
		Description:        jsii.String("Closeloop: helpdesk webhooks, survey pages, operators' API"),
		CreateDefaultStage: jsii.Bool(true),
	}
	var baseURL *string
	if cfg.domain != "" {
		dn := awsapigatewayv2.NewDomainName(stack, jsii.String("Domain"), &awsapigatewayv2.DomainNameProps{
			DomainName:  jsii.String(cfg.domain),
			Certificate: awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("Certificate"), jsii.String(cfg.certificateARN)),
		})
		props.DefaultDomainMapping = &awsapigatewayv2.DomainMappingOptions{DomainName: dn}
		// Links, webhooks and the console use the custom domain only: the
		// execute-api host would bypass it (and anything put in front of it).
		props.DisableExecuteApiEndpoint = jsii.Bool(true)
		baseURL = jsii.String("https://" + cfg.domain)
		awscdk.NewCfnOutput(stack, jsii.String("DomainTarget"), &awscdk.CfnOutputProps{
			Value:       dn.RegionalDomainName(),
			Description: jsii.String("Point a CNAME (or alias) for the custom domain here (done by the stack when the domain is in hostedZoneName)"),
		})
		if z := cfg.hostedZoneName; z != "" && (cfg.domain == z || strings.HasSuffix(cfg.domain, "."+z)) {
			// The domain is in the zone the stack writes to: its alias too.
			zone := awsroute53.PublicHostedZone_FromHostedZoneAttributes(stack, jsii.String("ApiZone"), &awsroute53.HostedZoneAttributes{
				HostedZoneId: jsii.String(cfg.hostedZoneID), ZoneName: jsii.String(z),
			})
			awsroute53.NewARecord(stack, jsii.String("ApiDomainRecord"), &awsroute53.ARecordProps{
				Zone: zone, RecordName: jsii.String(cfg.domain),
				Target: awsroute53.RecordTarget_FromAlias(awsroute53targets.NewApiGatewayv2DomainProperties(dn.RegionalDomainName(), dn.RegionalHostedZoneId())),
			})
		}
	}
	api := awsapigatewayv2.NewHttpApi(stack, jsii.String("Api"), props)
	if baseURL == nil {
		baseURL = awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), api.ApiId(), jsii.String(".execute-api."), stack.Region(), jsii.String("."), stack.UrlSuffix()})
	}
	accessLogs := awslogs.NewLogGroup(stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention: logRetention, RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	stage := api.DefaultStage().Node().DefaultChild().(awsapigatewayv2.CfnStage)
	// Enough for a busy helpdesk's bursts, low enough to cap the cost of abuse.
	stage.SetDefaultRouteSettings(&awsapigatewayv2.CfnStage_RouteSettingsProperty{
		ThrottlingBurstLimit: jsii.Number(200),
		ThrottlingRateLimit:  jsii.Number(100),
	})
	// Access logs name the route and status, never the path (it holds link tokens).
	format, _ := json.Marshal(map[string]string{
		"requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "time": "$context.requestTime",
		"routeKey": "$context.routeKey", "status": "$context.status", "latency": "$context.integrationLatency",
		"error": "$context.integrationErrorMessage",
	})
	stage.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: accessLogs.LogGroupArn(),
		Format:         jsii.String(string(format)),
	})
	return api, baseURL
}

func integrate(api awsapigatewayv2.HttpApi, fn awslambda.Function, path string, methods ...awsapigatewayv2.HttpMethod) {
	id := strings.Trim(strings.NewReplacer("/", "-", "{", "", "}", "", "+", "").Replace(path), "-")
	api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String(path),
		Methods:     &methods,
		Integration: awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(id), fn, nil),
	})
}

// newAlarms watches errors and throttles of every function, dead letters,
// and SES reputation, and puts the main figures on a dashboard. With the
// context value alarmEmail, alarms notify that address through an encrypted
// SNS topic.
func newAlarms(stack awscdk.Stack, cfg settings, fns map[string]awslambda.Function, dlqs, queues []awssqs.Queue, api awsapigatewayv2.HttpApi, table awsdynamodb.Table) *string {
	var action awscloudwatch.IAlarmAction
	if cfg.alarmEmail != "" {
		key := awskms.NewKey(stack, jsii.String("AlarmTopicKey"), &awskms.KeyProps{
			EnableKeyRotation: jsii.Bool(true),
			Description:       jsii.String("Closeloop: encrypts the alarm topic"),
		})
		key.GrantEncryptDecrypt(awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil))
		topic := awssns.NewTopic(stack, jsii.String("Alarms"), &awssns.TopicProps{MasterKey: key, EnforceSSL: jsii.Bool(true)})
		// The topic's policy replaces SNS's default one (EnforceSSL adds a
		// statement), so CloudWatch needs its own grant to publish: this
		// account's alarms only.
		topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("CloudWatchAlarmsPublish"),
			Actions:    jsii.Strings("sns:Publish"),
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
			Resources:  jsii.Strings(*topic.TopicArn()),
			Conditions: &map[string]interface{}{
				"StringEquals": map[string]interface{}{"aws:SourceAccount": stack.Account()},
				"ArnLike":      map[string]interface{}{"aws:SourceArn": stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("cloudwatch"), Resource: jsii.String("alarm"), ResourceName: jsii.String("*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME})},
			},
		}))
		sub := topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(cfg.alarmEmail), nil))
		cdknag.NagSuppressions_AddResourceSuppressions(sub, &[]*cdknag.NagPackSuppression{nagReason("Serverless-SNSRedrivePolicy",
			"An alarm email SNS cannot deliver would not help anyone later: the alarm's state shows on the dashboard's alarm widget and its history stays in CloudWatch for 14 days, and SNS first retries the mail system 50 times over 6 hours (its policy for customer-managed endpoints).")}, jsii.Bool(false))
		action = awscloudwatchactions.NewSnsAction(topic)
	}
	five := awscdk.Duration_Minutes(jsii.Number(5))
	var alarms []awscloudwatch.IAlarm
	alarm := func(id string, m awscloudwatch.IMetric, threshold float64, desc string) {
		a := awscloudwatch.NewAlarm(stack, jsii.String(id), &awscloudwatch.AlarmProps{
			Metric:             m,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
			AlarmDescription:   jsii.String(desc),
		})
		if action != nil {
			a.AddAlarmAction(action)
		}
		alarms = append(alarms, a)
	}
	var invocations, errors []awscloudwatch.IMetric
	for _, name := range sortedNames() {
		fn := fns[name]
		id := pascal(name)
		alarm(id+"Errors", fn.MetricErrors(&awscloudwatch.MetricOptions{Period: five}), 1, "Closeloop "+name+" failed; see its logs")
		alarm(id+"Throttles", fn.MetricThrottles(&awscloudwatch.MetricOptions{Period: five}), 1, "Closeloop "+name+" was throttled")
		invocations = append(invocations, fn.MetricInvocations(&awscloudwatch.MetricOptions{Period: five, Label: jsii.String(name)}))
		errors = append(errors, fn.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Label: jsii.String(name)}))
	}
	var durations []awscloudwatch.IMetric
	for _, name := range sortedNames() {
		durations = append(durations, fns[name].MetricDuration(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("p99"), Label: jsii.String(name)}))
	}
	// The HTTP surface: server errors (a function failing, or timing out)
	// and p99 latency (helpdesks give up after 5 to 12 s).
	api5xx := api.MetricServerError(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")})
	latency := api.MetricLatency(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("p99")})
	alarm("Api5xx", api5xx, 5, "Closeloop's HTTP API answered 5xx at least 5 times in 5 minutes: helpdesks retry, customers see an error page")
	alarm("ApiLatency", latency, 4000, "Closeloop's HTTP API p99 latency is over 4 s: HubSpot gives up at 5 s")
	// Work waiting: a queue whose oldest message is 15 minutes old is stuck.
	var ages []awscloudwatch.IMetric
	for i, q := range queues {
		m := q.MetricApproximateAgeOfOldestMessage(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")})
		alarm(fmt.Sprintf("QueueAge%d", i+1), m, 900, "Closeloop work has waited 15 minutes in a queue: its consumer fails or is throttled")
		ages = append(ages, m)
	}
	for _, name := range []string{"ReadThrottleEvents", "WriteThrottleEvents"} {
		m := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String("AWS/DynamoDB"), MetricName: jsii.String(name),
			DimensionsMap: &map[string]*string{"TableName": table.TableName()}, Statistic: jsii.String("Sum"), Period: five})
		alarm("Table"+strings.TrimSuffix(name, "Events"), m, 10, "Closeloop's table throttled requests (the SDK retries; sustained throttling loses time, then requests)")
	}
	// Per-item failures the functions survive, as their embedded-metric log
	// lines report them (namespace Closeloop, dimension Function).
	// The dimension is the function's own name (shared/platform/logging), so
	// a second stack in the account (staging) never sets these off.
	own := func(fn, name string, period awscdk.Duration) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String(closeloop.MetricNamespace), MetricName: jsii.String(name),
			DimensionsMap: &map[string]*string{"Function": fns[fn].FunctionName()}, Statistic: jsii.String("Sum"), Period: period})
	}
	for _, m := range []struct{ fn, name, desc string }{
		{"survey-sweep", closeloop.MetricSurveysFailed, "Closeloop surveys failed for good (SES refused them, a look-up failed, or an outcome is unknown): see the ticket's reason"},
		{"closing", closeloop.MetricClosingFailed, "Closeloop \"you said, we did\" batches failed and wait for SQS to retry them"},
		{"closing", closeloop.MetricAlertsFailed, "Closeloop detractor alerts failed (Slack or email) and wait for SQS to retry them"},
		{"survey-sweep", closeloop.MetricLookupsFailed, "Closeloop could not look customers up in a helpdesk's API (a credential refused or revoked, customers unknown): see the console's Look-ups page"},
	} {
		alarm(m.name, own(m.fn, m.name, five), 1, m.desc)
	}
	// A few refused deliveries an hour are someone probing; more are a
	// helpdesk whose secret does not match (each refusal's log line names
	// the source and the reason).
	alarm(closeloop.MetricWebhooksRejected, own("webhook", closeloop.MetricWebhooksRejected, awscdk.Duration_Hours(jsii.Number(1))), 10,
		"Closeloop refused 10 or more webhook deliveries in an hour for their signature: a helpdesk's secret may not match its CLOSELOOP_SECRET_<SOURCE> (the webhook's log lines \"webhook refused\" name the source and why); until it does, that helpdesk's tickets get no survey")
	var depths []awscloudwatch.IMetric
	for i, q := range dlqs {
		m := q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five})
		alarm(fmt.Sprintf("DeadLetters%d", i+1), m, 1, "Closeloop messages gave up after 5 tries; inspect and redrive the dead-letter queue")
		depths = append(depths, m)
	}
	hour := awscdk.Duration_Hours(jsii.Number(1))
	bounce := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String("AWS/SES"), MetricName: jsii.String("Reputation.BounceRate"), Statistic: jsii.String("Maximum"), Period: hour})
	complaint := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String("AWS/SES"), MetricName: jsii.String("Reputation.ComplaintRate"), Statistic: jsii.String("Maximum"), Period: hour})
	// SES reviews an account at a 5% bounce or 0.1% complaint rate; warn well before.
	alarm("SesBounceRate", bounce, 0.04, "SES bounce rate at 4%: SES reviews the account at 5%")
	alarm("SesComplaintRate", complaint, 0.0008, "SES complaint rate at 0.08%: SES reviews the account at 0.1%")

	// What the loop does: SES's own counts (the account's sends, bounces and
	// complaints), and the functions' (surveys sent, answers recorded).
	sesCount := func(n string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String("AWS/SES"), MetricName: jsii.String(n), Statistic: jsii.String("Sum"), Period: hour})
	}
	loop := func(fn, n string) awscloudwatch.IMetric { return own(fn, n, hour) }
	api4xx := api.MetricClientError(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")})

	name := awscdk.Fn_Join(jsii.String("-"), &[]*string{stack.StackName(), jsii.String("closeloop")})
	awscloudwatch.NewDashboard(stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: name,
		Widgets: &[]*[]awscloudwatch.IWidget{
			{
				// Every alarm's state, first: what is wrong now.
				awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{Title: jsii.String("Alarms"), Alarms: &alarms, Width: jsii.Number(24)}),
			},
			{
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Invocations"), Left: &invocations, Width: jsii.Number(12)}),
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Errors"), Left: &errors, Width: jsii.Number(12)}),
			},
			{
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Dead letters"), Left: &depths, Width: jsii.Number(12)}),
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("SES reputation"), Left: &[]awscloudwatch.IMetric{bounce, complaint}, Width: jsii.Number(12)}),
			},
			{
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Duration p99"), Left: &durations, Width: jsii.Number(8)}),
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("API 4xx, 5xx and p99 latency"), Left: &[]awscloudwatch.IMetric{api4xx, api5xx}, Right: &[]awscloudwatch.IMetric{latency}, Width: jsii.Number(8)}),
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Oldest message in a queue (s)"), Left: &ages, Width: jsii.Number(8)}),
			},
			{
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("SES sends, bounces and complaints (hourly)"),
					Left: &[]awscloudwatch.IMetric{sesCount("Send")}, Right: &[]awscloudwatch.IMetric{sesCount("Bounce"), sesCount("Complaint")}, Width: jsii.Number(12)}),
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Surveys sent and answered (hourly)"),
					Left: &[]awscloudwatch.IMetric{loop("survey-sweep", closeloop.MetricSurveysSent), loop("response", closeloop.MetricResponsesRecorded)}, Width: jsii.Number(12)}),
			},
		},
	})
	return name
}

// suppress records, with reasons, the cdk-nag findings this design accepts.
// nagReason is one cdk-nag suppression: a rule and why it does not apply.
func nagReason(id, reason string) *cdknag.NagPackSuppression {
	return &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
}

// suppressServerless answers cdk-nag's Serverless rules where they do not
// fit, resource by resource.
func suppressServerless(fns map[string]awslambda.Function, dlqs []awssqs.Queue, scheduleDLQ awssqs.Queue) {
	for name, fn := range fns {
		var why string
		switch name {
		case "webhook", "response", "api":
			why = "API Gateway invokes it synchronously and gets every error as an HTTP status; a dead-letter queue only receives failed asynchronous invocations, which this function never has."
		case "closing", "ses-events":
			why = "An SQS event source invokes it synchronously; a failed message returns to its queue and moves to that queue's dead-letter queue after 5 receives (alarmed), so a function DLQ would never receive anything."
		case "survey-sweep", "digest":
			why = "Its asynchronous invocations have an on-failure destination (ScheduleDeadLetters, alarmed), which AWS recommends over a dead-letter queue and which keeps the failure's details."
		}
		cdknag.NagSuppressions_AddResourceSuppressions(fn, &[]*cdknag.NagPackSuppression{nagReason("Serverless-LambdaDLQ", why)}, jsii.Bool(false))
		if name == "closing" || name == "ses-events" {
			cdknag.NagSuppressions_AddResourceSuppressions(fn, &[]*cdknag.NagPackSuppression{nagReason("Serverless-LambdaEventSourceMappingDestination",
				"Lambda takes an on-failure destination only for stream and Kafka event sources; for SQS the queue's redrive policy (5 receives, then the alarmed dead-letter queue) is the failure destination.")}, jsii.Bool(true))
		}
	}
	for _, q := range dlqs {
		why := "This queue is itself a dead-letter queue: its messages wait 14 days to be read and replayed (closeloop dlq list|replay), and an alarm fires when any arrive."
		if q == scheduleDLQ {
			why = "This queue is itself a dead-letter queue, of the schedules: an alarm fires when a run lands here, and nothing needs replaying (the next minute's sweep sends what was due, the next hour's digest run sends the week's digest)."
		}
		cdknag.NagSuppressions_AddResourceSuppressions(q, &[]*cdknag.NagPackSuppression{nagReason("Serverless-SQSRedrivePolicy", why)}, jsii.Bool(false))
	}
	cdknag.NagSuppressions_AddResourceSuppressions(scheduleDLQ, &[]*cdknag.NagPackSuppression{nagReason("AwsSolutions-SQS3",
		"It is the dead-letter queue of the schedule rules' targets and the on-failure destination of the sweep and digest; cdk-nag only recognises queues named in another queue's redrive policy.")}, jsii.Bool(false))
}

func suppress(stack awscdk.Stack, table awsdynamodb.Table, sec secrets, contactKey awssecretsmanager.Secret, api awsapigatewayv2.HttpApi) {
	s := func(id, reason string, appliesTo ...string) *cdknag.NagPackSuppression {
		sup := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
		if len(appliesTo) > 0 {
			var a []interface{}
			for _, x := range appliesTo {
				a = append(a, jsii.String(x))
			}
			sup.AppliesTo = &a
		}
		return sup
	}
	for _, x := range []struct {
		s   awssecretsmanager.Secret
		why string
	}{
		{sec.admin, "The admin token bootstraps the first operators and is replaced by hand (docs/deploy.md): running instances read it at start, which a rotation Lambda cannot coordinate, and daily access uses expiring operator tokens."},
		{sec.webhooks, "Webhook signing secrets are issued by each helpdesk; the operator rotates one in the helpdesk and here together (docs/deploy.md), which a rotation Lambda cannot do."},
		{sec.apis, "Helpdesk API credentials are issued by each helpdesk (Help Scout's access tokens are renewed by OAuth at run time); a rotation Lambda cannot create them."},
		{sec.alert, "The Slack webhook URL is issued by Slack and can only be replaced there."},
	} {
		cdknag.NagSuppressions_AddResourceSuppressions(x.s, &[]*cdknag.NagPackSuppression{s("AwsSolutions-SMG4", x.why)}, jsii.Bool(true))
	}
	cdknag.NagSuppressions_AddResourceSuppressions(contactKey, &[]*cdknag.NagPackSuppression{
		s("AwsSolutions-SMG4", "The contact key keys every contact id; rotating it would orphan every suppression and survey history, so it is never rotated, by design (docs/privacy.md)."),
	}, jsii.Bool(true))
	cdknag.NagSuppressions_AddResourceSuppressions(api, &[]*cdknag.NagPackSuppression{
		s("AwsSolutions-APIG4", "Every route authenticates in its function: webhooks by the helpdesk's HMAC signature (or shared secret), survey and unsubscribe pages by unguessable 256-bit link tokens, and /api and /console by an operator's session (from an emailed single-use link) or token, stored hashed, or the bootstrap token from Secrets Manager, compared in constant time (docs/deploy.md)."),
	}, jsii.Bool(true))
}

// resolveLogicalID is the logical id cdk-nag uses for a construct's resource.
func resolveLogicalID(stack awscdk.Stack, table awsdynamodb.Table) string {
	return *stack.GetLogicalId(table.Node().DefaultChild().(awsdynamodb.CfnTable))
}

// pascal turns "survey-sweep" into "SurveySweep", for construct ids.
func pascal(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}
