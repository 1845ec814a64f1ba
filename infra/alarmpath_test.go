package main

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"
)

// Offline stand-ins for the pseudo parameters CloudFormation fills in.
const (
	testAccount = "123456789012"
	testRegion  = "eu-west-1"
)

// resolve renders a template value with the pseudo parameters above; a Ref
// to a resource becomes "ref:<id>" and a GetAtt "getatt:<id>.<attr>".
func resolve(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if r, ok := x["Ref"].(string); ok {
			switch r {
			case "AWS::AccountId":
				return testAccount
			case "AWS::Region":
				return testRegion
			case "AWS::Partition":
				return "aws"
			case "AWS::URLSuffix":
				return "amazonaws.com"
			}
			return "ref:" + r
		}
		if j, ok := x["Fn::Join"].([]any); ok {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, fmt.Sprint(resolve(p)))
			}
			return strings.Join(parts, j[0].(string))
		}
		if g, ok := x["Fn::GetAtt"].([]any); ok {
			return fmt.Sprintf("getatt:%v.%v", g[0], g[1])
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = resolve(e)
		}
		return out
	case []any:
		var out []any
		for _, e := range x {
			out = append(out, resolve(e))
		}
		return out
	}
	return v
}

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

// request is one call as IAM sees it.
type request struct {
	service, action, resource string
	context                   map[string]string
}

// allowed evaluates a resource policy (statements already resolved) for r
// as IAM does for a service principal: some Allow matches and no Deny does.
func allowed(t *testing.T, statements []any, r request) bool {
	t.Helper()
	allow := false
	for _, s := range statements {
		st := s.(map[string]any)
		if !principalMatches(st["Principal"], r.service) || !anyGlob(strs(st["Action"]), r.action) || !anyGlob(strs(st["Resource"]), r.resource) {
			continue
		}
		if !conditionsHold(t, st["Condition"], r.context) {
			continue
		}
		if st["Effect"] == "Deny" {
			return false
		}
		allow = true
	}
	return allow
}

func principalMatches(p any, service string) bool {
	if p == "*" {
		return true
	}
	m, _ := p.(map[string]any)
	if m["AWS"] == "*" {
		return true
	}
	return slices.Contains(strs(m["Service"]), service)
}

func anyGlob(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ReplaceAll(p, "/", "\x00"), strings.ReplaceAll(s, "/", "\x00")); ok {
			return true
		}
	}
	return false
}

func conditionsHold(t *testing.T, c any, ctx map[string]string) bool {
	t.Helper()
	m, _ := c.(map[string]any)
	for op, kv := range m {
		for k, want := range kv.(map[string]any) {
			got, ok := ctx[k]
			if !ok {
				t.Fatalf("the policy tests %s, which this test does not model", k)
			}
			match := false
			for _, w := range strs(want) {
				switch op {
				case "StringEquals", "Bool":
					match = match || got == w
				case "ArnLike", "StringLike":
					match = match || anyGlob([]string{w}, got)
				default:
					t.Fatalf("condition operator %s is not modelled", op)
				}
			}
			if !match {
				return false
			}
		}
	}
	return true
}

// TestAnAlarmReachesItsEmail follows one alarm state change through the
// synthesized wiring as far as can be checked offline: every alarm names
// the topic; the topic's policy, evaluated as IAM would for CloudWatch of
// this account over TLS, lets it publish (and refuses another account's
// alarms and plain HTTP); the topic's KMS key lets CloudWatch encrypt; and
// the topic sends to alarmEmail.
func TestAnAlarmReachesItsEmail(t *testing.T) {
	a, _ := templates(t)
	topics := resources(a, "AWS::SNS::Topic")
	if len(topics) != 1 {
		t.Fatalf("%d alarm topics", len(topics))
	}
	var topicID string
	for id := range topics {
		topicID = id
	}
	topicRef := "ref:" + topicID
	for id, r := range resources(a, "AWS::CloudWatch::Alarm") {
		if acts := strs(resolve(props(r)["AlarmActions"])); !slices.Contains(acts, topicRef) {
			t.Errorf("alarm %s notifies %v, not the topic", id, acts)
		}
	}
	var statements []any
	for _, r := range resources(a, "AWS::SNS::TopicPolicy") {
		p := resolve(props(r)).(map[string]any)
		if slices.Contains(strs(p["Topics"]), topicRef) {
			statements = append(statements, p["PolicyDocument"].(map[string]any)["Statement"].([]any)...)
		}
	}
	alarmArn := "arn:aws:cloudwatch:" + testRegion + ":" + testAccount + ":alarm:Closeloop-SurveysFailed"
	publish := request{service: "cloudwatch.amazonaws.com", action: "sns:Publish", resource: topicRef,
		context: map[string]string{"aws:SourceAccount": testAccount, "aws:SourceArn": alarmArn, "aws:SecureTransport": "true"}}
	if !allowed(t, statements, publish) {
		t.Errorf("CloudWatch may not publish this account's alarm to the topic: %s", jsonOf(statements))
	}
	other := publish
	other.context = map[string]string{"aws:SourceAccount": "210987654321", "aws:SourceArn": strings.Replace(alarmArn, testAccount, "210987654321", 1), "aws:SecureTransport": "true"}
	if allowed(t, statements, other) {
		t.Errorf("another account's alarms may publish to the topic")
	}
	plain := publish
	plain.context = map[string]string{"aws:SourceAccount": testAccount, "aws:SourceArn": alarmArn, "aws:SecureTransport": "false"}
	if allowed(t, statements, plain) {
		t.Errorf("the topic takes messages over plain HTTP")
	}
	// The topic is encrypted: CloudWatch must be able to use its key.
	keyID := strings.TrimPrefix(fmt.Sprint(resolve(props(topics[topicID])["KmsMasterKeyId"])), "getatt:")
	keyID = strings.TrimSuffix(keyID, ".Arn")
	key, ok := resources(a, "AWS::KMS::Key")[keyID]
	if !ok {
		t.Fatalf("the topic's key %s is not in the template", keyID)
	}
	keyStatements := resolve(props(key)["KeyPolicy"]).(map[string]any)["Statement"].([]any)
	for _, act := range []string{"kms:GenerateDataKey", "kms:Decrypt"} {
		if !allowed(t, keyStatements, request{service: "cloudwatch.amazonaws.com", action: act, resource: "*", context: map[string]string{}}) {
			t.Errorf("CloudWatch may not %s with the topic's key", act)
		}
	}
	subs := 0
	for _, r := range resources(a, "AWS::SNS::Subscription") {
		p := resolve(props(r)).(map[string]any)
		if p["TopicArn"] == topicRef && p["Protocol"] == "email" && p["Endpoint"] == "ops@acme.example" {
			subs++
		}
	}
	if subs != 1 {
		t.Errorf("%d email subscriptions of alarmEmail to the topic, want 1", subs)
	}
}
