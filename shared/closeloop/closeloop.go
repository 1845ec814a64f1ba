// Package closeloop is the domain of Closeloop: tickets, surveys, responses,
// themes and improvements, and the rules that decide what happens to them.
//
// It does no I/O. Adapters (shared/dynamo, shared/mail, shared/helpdesk) load
// state, ask this package to decide, and store the result with a conditional
// write, so that every step that may run twice is safe to run twice.
package closeloop

import (
	"errors"
	"fmt"
	"slices"
)

// Sentinel errors shared by the adapters. Compare with errors.Is.
var (
	// ErrNotFound means the item asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a conditional write lost a race: the item changed
	// since it was read. The caller reads again and decides again.
	ErrConflict = errors.New("conflict")
	// ErrDuplicate means the write was already done by an earlier attempt.
	ErrDuplicate = errors.New("duplicate")
	// ErrExpired means a link is gone for good: past its expiry, or its
	// survey's person was erased (HTTP 410).
	ErrExpired = errors.New("expired")
	// ErrInvalid wraps every validation failure of outside input; its message
	// is safe to show to the caller.
	ErrInvalid = errors.New("invalid")
	// ErrUnauthorized means a caller's signature, secret or token is missing
	// or wrong; its message says which, never the expected value.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden means the caller is known but may not do this: their role
	// is too low, or a form lacks its CSRF token (HTTP 403).
	ErrForbidden = errors.New("forbidden")
	// ErrErased means the person was erased: nothing about them may be
	// stored again, and they are never mailed again.
	ErrErased = errors.New("erased")
)

// Sources lists every helpdesk a webhook may come from, as it appears in
// /webhooks/{source} and in CLOSELOOP_SECRET_<SOURCE>.
var Sources = []string{"zendesk", "freshdesk", "intercom", "hubspot", "helpscout", "jira", "front", "gorgias", "zammad", "generic"}

// KnownSource reports whether name is one of Sources.
func KnownSource(name string) bool { return slices.Contains(Sources, name) }

// Errorf returns an error whose message is the formatted reason alone and
// which matches kind, one of the sentinel errors above, with errors.Is:
//
//	Errorf(ErrInvalid, "rating must be a whole number from %d to %d", lo, hi)
//
// A %w in format wraps that error too. HTTP handlers show the reason of a
// 4xx as it is, so it names the problem without the sentinel's word.
func Errorf(kind error, format string, args ...any) error {
	return &reasonError{kind: kind, reason: fmt.Errorf(format, args...)}
}

type reasonError struct{ kind, reason error }

func (e *reasonError) Error() string   { return e.reason.Error() }
func (e *reasonError) Unwrap() []error { return []error{e.kind, e.reason} }
