package closeloop

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
)

// Role is what an operator may do. Each role may do everything the roles
// below it may.
type Role string

// The roles, lowest first.
const (
	RoleViewer Role = "viewer" // reads responses, themes, improvements, metrics
	RoleEditor Role = "editor" // also themes, tags, follow-up, announcements
	RoleAdmin  Role = "admin"  // also operators, API tokens, erasure, audit log
)

// ParseRole returns the role named s, or an error wrapping ErrInvalid.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleViewer, RoleEditor, RoleAdmin:
		return r, nil
	}
	return "", Errorf(ErrInvalid, "role %q is not viewer, editor or admin", s)
}

func (r Role) rank() int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleEditor:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// Allows reports whether r may do what need requires.
func (r Role) Allows(need Role) bool { return r.rank() >= need.rank() && r.rank() > 0 }

// Operator is a person of the team who signs in to the console.
type Operator struct {
	Email     string    `json:"email"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// NewOperator validates and returns an operator.
func NewOperator(email, role, by string, now time.Time) (Operator, error) {
	addr, err := NormalizeEmail(email)
	if err != nil {
		return Operator{}, Errorf(ErrInvalid, "email: %v", err)
	}
	r, err := ParseRole(role)
	if err != nil {
		return Operator{}, err
	}
	return Operator{Email: addr, Role: r, CreatedAt: now, CreatedBy: by}, nil
}

// Principal is who makes a request to /api or /console: an operator by
// session or API token, or the bootstrap admin token.
type Principal struct {
	Email   string // the operator's address; "bootstrap-admin" for CLOSELOOP_ADMIN_TOKEN
	Role    Role
	Session string // the session id, when signed in through the console
	CSRF    string // the session's CSRF token
}

// Sign-in and session lifetimes.
const (
	LoginLinkTTL      = 15 * time.Minute
	SessionIdle       = 12 * time.Hour
	SessionAbsolute   = 7 * 24 * time.Hour
	LoginLinksPerHour = 5 // per operator and network address asking
	// LoginLinksPerAddressHour bounds an operator's links an hour from all
	// network addresses together.
	LoginLinksPerAddressHour = 20
	MaxTokenLifetime         = 366 * 24 * time.Hour
	DefaultTokenExpiry       = 90 * 24 * time.Hour
)

// Session is a signed-in console session, stored server-side so it can be
// revoked.
type Session struct {
	ID         string // SecretID of the cookie's value
	Email      string
	CSRF       string
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// Expired reports whether s is past its idle or absolute expiry at now.
func (s Session) Expired(now time.Time) bool {
	return now.After(s.CreatedAt.Add(SessionAbsolute)) || now.After(s.LastSeenAt.Add(SessionIdle))
}

// APIToken is a per-operator credential for scripts. Only a hash of its
// secret is stored; the token is shown once, when created.
type APIToken struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Email      string    `json:"email"` // whose role it acts with
	SecretHash string    `json:"-"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// NewAPIToken returns a token for operator email named name, expiring
// after days (DefaultTokenExpiry when 0), and the token string to show
// once: "cl_<id>_<secret>".
func NewAPIToken(name, email string, days int, now time.Time) (APIToken, string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "" || len(name) > 100:
		return APIToken{}, "", Errorf(ErrInvalid, "name must be 1 to 100 bytes")
	case days < 0 || time.Duration(days)*24*time.Hour > MaxTokenLifetime:
		return APIToken{}, "", Errorf(ErrInvalid, "expires_in_days must be from 1 to %d", int(MaxTokenLifetime.Hours()/24))
	}
	ttl := DefaultTokenExpiry
	if days > 0 {
		ttl = time.Duration(days) * 24 * time.Hour
	}
	secret, _ := NewToken()
	id := NewID()[:16]
	return APIToken{ID: id, Name: name, Email: email, SecretHash: SecretID(secret), CreatedAt: now, ExpiresAt: now.Add(ttl)},
		"cl_" + id + "_" + secret, nil
}

// SplitAPIToken returns the id and secret of a token string made by
// NewAPIToken; ok is false for anything else.
func SplitAPIToken(s string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(s, "cl_")
	if !ok {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || len(id) != 16 || CheckToken(secret) != nil {
		return "", "", false
	}
	return id, secret, true
}

// SecretID returns the id under which a secret (a sign-in link, a session
// cookie, a token's secret) is stored: its hex SHA-256, so the table never
// holds a working secret.
func SecretID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// NewCSRF returns a fresh CSRF token.
func NewCSRF() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// AuditEntry is one change in the audit log: who did what, to what, when.
// It never holds a customer's address or comment.
type AuditEntry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`  // an operator's address, or "bootstrap-admin"
	Action string    `json:"action"` // e.g. "sign-in", "theme.create", "contact.erase"
	Target string    `json:"target,omitempty"`
	Detail string    `json:"detail,omitempty"`
}
