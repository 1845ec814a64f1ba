package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/platform/web"
)

// SessionCookie is the console's session cookie. It holds a random secret;
// the table holds only its hash (closeloop.SecretID).
const SessionCookie = "closeloop_session"

// BootstrapAdmin is the actor name of CLOSELOOP_ADMIN_TOKEN in the audit log.
const BootstrapAdmin = "bootstrap-admin"

// touchEvery is how stale a session's last-seen time may get before a
// request refreshes it (idle expiry without a write per request).
const touchEvery = 5 * time.Minute

type principalKey struct{}

// principalOf returns the caller apiAuth or consoleAuth let through.
func principalOf(ctx context.Context) closeloop.Principal {
	p, _ := ctx.Value(principalKey{}).(closeloop.Principal)
	return p
}

// principal finds who makes r: a bearer credential (the bootstrap admin
// token, or an operator's API token) or, when allowCookie, a console
// session. Its error wraps closeloop.ErrUnauthorized and says why.
func (h *Handler) principal(r *http.Request, allowCookie bool) (closeloop.Principal, error) {
	ctx, now := r.Context(), h.now()
	if authz := r.Header.Get("Authorization"); authz != "" {
		scheme, tok, _ := strings.Cut(authz, " ")
		tok = strings.TrimSpace(tok)
		if !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return closeloop.Principal{}, closeloop.Errorf(closeloop.ErrUnauthorized, "use Authorization: Bearer <token>")
		}
		if h.Config.AdminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(h.Config.AdminToken)) == 1 {
			return closeloop.Principal{Email: BootstrapAdmin, Role: closeloop.RoleAdmin}, nil
		}
		id, secret, ok := closeloop.SplitAPIToken(tok)
		if !ok {
			return closeloop.Principal{}, closeloop.Errorf(closeloop.ErrUnauthorized, "missing or wrong bearer token")
		}
		t, err := h.Store.GetAPIToken(ctx, id)
		if errors.Is(err, closeloop.ErrNotFound) {
			return closeloop.Principal{}, closeloop.Errorf(closeloop.ErrUnauthorized, "missing or wrong bearer token")
		}
		if err != nil {
			return closeloop.Principal{}, err
		}
		if subtle.ConstantTimeCompare([]byte(closeloop.SecretID(secret)), []byte(t.SecretHash)) != 1 {
			return closeloop.Principal{}, closeloop.Errorf(closeloop.ErrUnauthorized, "missing or wrong bearer token")
		}
		if now.After(t.ExpiresAt) {
			return closeloop.Principal{}, closeloop.Errorf(closeloop.ErrUnauthorized, "token %s expired on %s", t.ID, t.ExpiresAt.Format(time.DateOnly))
		}
		op, err := h.operator(ctx, t.Email)
		if err != nil {
			return closeloop.Principal{}, err
		}
		if t.CreatedAt.Before(op.CreatedAt) {
			return closeloop.Principal{}, closeloop.Errorf(closeloop.ErrUnauthorized, "token %s was issued before its operator was last added", t.ID)
		}
		return closeloop.Principal{Email: op.Email, Role: op.Role}, nil
	}
	c, err := r.Cookie(SessionCookie)
	if !allowCookie || err != nil || c.Value == "" {
		return closeloop.Principal{}, closeloop.Errorf(closeloop.ErrUnauthorized, "sign in: send Authorization: Bearer <token>, or use the console")
	}
	sess, err := h.Store.GetSession(ctx, closeloop.SecretID(c.Value))
	if errors.Is(err, closeloop.ErrNotFound) {
		return closeloop.Principal{}, closeloop.Errorf(closeloop.ErrUnauthorized, "the session has ended; sign in again")
	}
	if err != nil {
		return closeloop.Principal{}, err
	}
	if sess.Expired(now) {
		if err := h.Store.DeleteSession(ctx, sess.ID); err != nil {
			slog.WarnContext(ctx, "end expired session", "err", err)
		}
		return closeloop.Principal{}, closeloop.Errorf(closeloop.ErrUnauthorized, "the session has expired; sign in again")
	}
	op, err := h.operator(ctx, sess.Email)
	if err != nil {
		return closeloop.Principal{}, err
	}
	if sess.CreatedAt.Before(op.CreatedAt) {
		// Started before the operator was removed and added again: what
		// they held before the removal stays dead.
		if err := h.Store.DeleteSession(ctx, sess.ID); err != nil {
			slog.WarnContext(ctx, "end a removed operator's session", "err", err)
		}
		return closeloop.Principal{}, closeloop.Errorf(closeloop.ErrUnauthorized, "the session has ended; sign in again")
	}
	if now.Sub(sess.LastSeenAt) > touchEvery {
		if err := h.Store.TouchSession(ctx, sess.ID, now); err != nil {
			slog.WarnContext(ctx, "touch session", "err", err)
		}
	}
	return closeloop.Principal{Email: op.Email, Role: op.Role, Session: sess.ID, CSRF: sess.CSRF}, nil
}

// operator returns the operator a session or token belongs to; one removed
// since is unauthorized.
func (h *Handler) operator(ctx context.Context, email string) (closeloop.Operator, error) {
	op, err := h.Store.GetOperator(ctx, email)
	if errors.Is(err, closeloop.ErrNotFound) {
		return op, closeloop.Errorf(closeloop.ErrUnauthorized, "this operator no longer has access")
	}
	return op, err
}

// unsafe reports whether method may change state.
func unsafe(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// csrfOK compares a submitted CSRF token with the session's in constant time.
func csrfOK(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// allow checks p's role against need and, for a session, the CSRF token of
// a state-changing request.
func allow(p closeloop.Principal, need closeloop.Role, r *http.Request, csrf string) error {
	if p.Session != "" && unsafe(r.Method) && !csrfOK(csrf, p.CSRF) {
		return closeloop.Errorf(closeloop.ErrForbidden, "the request lacks its CSRF token; reload the page and try again")
	}
	if !p.Role.Allows(need) {
		return closeloop.Errorf(closeloop.ErrForbidden, "the %s role may not do this (it needs %s)", p.Role, need)
	}
	return nil
}

// apiAuth lets through callers of the JSON API with at least role need: a
// bearer token, or a console session whose state-changing requests carry
// the X-CSRF-Token header.
func (h *Handler) apiAuth(need closeloop.Role, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := h.principal(r, true)
		if err == nil {
			err = allow(p, need, r, r.Header.Get("X-CSRF-Token"))
		}
		if err != nil {
			if web.Status(err) == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="closeloop"`)
			}
			web.Error(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// audit records a change by the caller of ctx. A failure to record is
// logged, not answered: the change itself is done.
func (h *Handler) audit(ctx context.Context, action, target, detail string) {
	e := closeloop.AuditEntry{At: h.now(), Actor: principalOf(ctx).Email, Action: action, Target: target, Detail: detail}
	if e.Actor == "" {
		e.Actor = "anonymous"
	}
	if err := h.Store.AddAudit(ctx, e); err != nil {
		slog.ErrorContext(ctx, "audit", "action", action, "err", err)
	}
}

// EnsureAdmin makes the configured first admin (CLOSELOOP_ADMIN_EMAIL) an
// admin operator while the team has no admin: it starts a new team, and
// gives back an admin to a team that lost them all. It never changes a
// team that has an admin, so an operator another admin removed does not
// come back by asking for a sign-in link with that address.
func (h *Handler) EnsureAdmin(ctx context.Context) error {
	if h.Config.AdminEmail == "" {
		return nil
	}
	ops, err := h.Store.Operators(ctx)
	if err != nil {
		return err
	}
	for _, op := range ops {
		if op.Role == closeloop.RoleAdmin || op.Email == h.Config.AdminEmail {
			return nil
		}
	}
	now := h.now()
	if err := h.Store.PutOperator(ctx, closeloop.Operator{Email: h.Config.AdminEmail, Role: closeloop.RoleAdmin, CreatedAt: now, CreatedBy: "CLOSELOOP_ADMIN_EMAIL"}); err != nil {
		return err
	}
	if err := h.Store.AddAudit(ctx, closeloop.AuditEntry{At: now, Actor: "CLOSELOOP_ADMIN_EMAIL", Action: "operator.bootstrap", Target: h.Config.AdminEmail, Detail: "role admin: the team had no admin"}); err != nil {
		slog.ErrorContext(ctx, "audit", "action", "operator.bootstrap", "err", err)
	}
	return nil
}

// lastAdmin reports whether email is the team's only admin.
func (h *Handler) lastAdmin(ctx context.Context, email string) (bool, error) {
	ops, err := h.Store.Operators(ctx)
	if err != nil {
		return false, err
	}
	admins, is := 0, false
	for _, op := range ops {
		if op.Role == closeloop.RoleAdmin {
			admins++
			is = is || op.Email == email
		}
	}
	return is && admins == 1, nil
}

// sameOrigin reports whether r, a browser's POST, came from a page of
// base's origin: Sec-Fetch-Site, or else Origin, says so. A request that
// carries neither (not from a browser) passes.
func sameOrigin(r *http.Request, base string) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(base)
	return err == nil && strings.EqualFold(o, u.Scheme+"://"+u.Host)
}
