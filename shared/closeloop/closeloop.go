// Package closeloop is the domain of Closeloop: tickets, surveys, responses,
// themes and improvements, and the rules that decide what happens to them.
//
// It does no I/O. Adapters (shared/dynamo, shared/mail, shared/helpdesk) load
// state, ask this package to decide, and store the result with a conditional
// write, so that every step that may run twice is safe to run twice.
package closeloop

import "errors"

// Sentinel errors shared by the adapters. Compare with errors.Is.
var (
	// ErrNotFound means the item asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a conditional write lost a race: the item changed
	// since it was read. The caller reads again and decides again.
	ErrConflict = errors.New("conflict")
	// ErrDuplicate means the write was already done by an earlier attempt.
	ErrDuplicate = errors.New("duplicate")
	// ErrExpired means a survey link is past its expiry.
	ErrExpired = errors.New("expired")
	// ErrInvalid wraps every validation failure of outside input; its message
	// is safe to show to the caller.
	ErrInvalid = errors.New("invalid")
	// ErrUnauthorized means a caller's signature, secret or token is missing
	// or wrong; its message says which, never the expected value.
	ErrUnauthorized = errors.New("unauthorized")
)

// Sources lists every helpdesk a webhook may come from, as it appears in
// /webhooks/{source} and in CLOSELOOP_SECRET_<SOURCE>.
var Sources = []string{"zendesk", "freshdesk", "intercom", "hubspot", "helpscout", "jira", "front", "gorgias", "zammad", "generic"}

// KnownSource reports whether name is one of Sources.
func KnownSource(name string) bool {
	for _, s := range Sources {
		if s == name {
			return true
		}
	}
	return false
}
