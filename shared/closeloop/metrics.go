package closeloop

// The metrics the functions publish as embedded-metric log lines
// (namespace MetricNamespace, dimension Function: the Lambda function's
// name), which the stack's alarms and dashboard read by the same names.
const (
	MetricNamespace         = "Closeloop"
	MetricSurveysSent       = "SurveysSent"       // survey-sweep, per run
	MetricSurveysFailed     = "SurveysFailed"     // survey-sweep, per run: failed for good
	MetricSurveysRetried    = "SurveysRetried"    // survey-sweep, per run: put back with a back-off
	MetricLookupsFailed     = "LookupsFailed"     // survey-sweep, per failed look-up
	MetricClosingFailed     = "ClosingFailed"     // closing, per batch: failed "you said, we did" batches
	MetricAlertsFailed      = "AlertsFailed"      // closing, per batch: failed detractor alerts
	MetricResponsesRecorded = "ResponsesRecorded" // response, per first answer
	MetricWebhooksRejected  = "WebhooksRejected"  // webhook, per delivery refused for its signature
)
