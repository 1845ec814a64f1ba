package api

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/platform/web"
	"github.com/closeloop/closeloop/shared/queue"
)

func (h *Handler) me(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	web.JSON(w, http.StatusOK, map[string]string{"email": p.Email, "role": string(p.Role)})
}

func (h *Handler) listOperators(w http.ResponseWriter, r *http.Request) {
	ops, err := h.Store.Operators(r.Context())
	if err != nil {
		web.Error(w, r, err)
		return
	}
	if ops == nil {
		ops = []closeloop.Operator{}
	}
	web.JSON(w, http.StatusOK, map[string]any{"operators": ops})
}

// addOperatorAs adds or re-roles operator email, as the caller of r.
func (h *Handler) addOperatorAs(r *http.Request, email, role string) (closeloop.Operator, error) {
	op, err := closeloop.NewOperator(email, role, principalOf(r.Context()).Email, h.now())
	if err != nil {
		return op, err
	}
	if op.Role != closeloop.RoleAdmin {
		if last, err := h.lastAdmin(r.Context(), op.Email); err != nil {
			return op, err
		} else if last {
			return op, closeloop.Errorf(closeloop.ErrConflict, "%s is the team's last admin: make another operator an admin first", op.Email)
		}
	}
	if err := h.Store.PutOperator(r.Context(), op); err != nil {
		return op, err
	}
	h.audit(r.Context(), "operator.put", op.Email, "role "+string(op.Role))
	return op, nil
}

func (h *Handler) addOperator(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email string `json:"email"`
		Role  string `json:"role"`
	}
	if err := decode(w, r, &in); err != nil {
		web.Error(w, r, err)
		return
	}
	op, err := h.addOperatorAs(r, in.Email, in.Role)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusCreated, op)
}

// removeOperator removes operator email, as the caller of r; nobody removes
// themselves (so an admin always remains).
func (h *Handler) removeOperator(r *http.Request, email string) error {
	addr, err := closeloop.NormalizeEmail(email)
	if err != nil {
		return closeloop.Errorf(closeloop.ErrInvalid, "email: %v", err)
	}
	if addr == principalOf(r.Context()).Email {
		return closeloop.Errorf(closeloop.ErrInvalid, "you cannot remove yourself; ask another admin")
	}
	if _, err := h.Store.GetOperator(r.Context(), addr); errors.Is(err, closeloop.ErrNotFound) {
		return closeloop.Errorf(closeloop.ErrNotFound, "%s is no operator of this team (nothing removed)", addr)
	} else if err != nil {
		return err
	}
	if last, err := h.lastAdmin(r.Context(), addr); err != nil {
		return err
	} else if last {
		return closeloop.Errorf(closeloop.ErrConflict, "%s is the team's last admin: make another operator an admin first", addr)
	}
	if err := h.Store.DeleteOperator(r.Context(), addr); err != nil {
		return err
	}
	h.audit(r.Context(), "operator.delete", addr, "")
	return nil
}

func (h *Handler) deleteOperator(w http.ResponseWriter, r *http.Request) {
	if err := h.removeOperator(r, r.PathValue("email")); err != nil {
		web.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]string{"deleted": r.PathValue("email")})
}

// tokensOf returns the tokens the caller may see: all for an admin, their
// own otherwise.
func (h *Handler) tokensOf(r *http.Request) ([]closeloop.APIToken, error) {
	all, err := h.Store.APITokens(r.Context())
	if err != nil {
		return nil, err
	}
	p := principalOf(r.Context())
	out := []closeloop.APIToken{}
	for _, t := range all {
		if p.Role.Allows(closeloop.RoleAdmin) || t.Email == h.owner(p) {
			out = append(out, t)
		}
	}
	return out, nil
}

// owner is the operator whose tokens p creates: the first admin for the
// bootstrap token, which is nobody's.
func (h *Handler) owner(p closeloop.Principal) string {
	if p.Email == BootstrapAdmin {
		return h.Config.AdminEmail
	}
	return p.Email
}

func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := h.tokensOf(r)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{"tokens": ts})
}

// newToken creates a token for the caller of r and returns it with the
// string to show once.
func (h *Handler) newToken(r *http.Request, name string, days int) (closeloop.APIToken, string, error) {
	p := principalOf(r.Context())
	if p.Email == BootstrapAdmin {
		if err := h.EnsureAdmin(r.Context()); err != nil {
			return closeloop.APIToken{}, "", err
		}
		// The token acts as CLOSELOOP_ADMIN_EMAIL: useless unless that
		// address is an operator (a team with admins does not add it).
		if _, err := h.Store.GetOperator(r.Context(), h.owner(p)); errors.Is(err, closeloop.ErrNotFound) {
			return closeloop.APIToken{}, "", closeloop.Errorf(closeloop.ErrConflict, "%s is not an operator of this team: sign in as an admin and make the token there", h.owner(p))
		} else if err != nil {
			return closeloop.APIToken{}, "", err
		}
	}
	t, secret, err := closeloop.NewAPIToken(name, h.owner(p), days, h.now())
	if err != nil {
		return t, "", err
	}
	if err := h.Store.PutAPIToken(r.Context(), t); err != nil {
		return t, "", err
	}
	h.audit(r.Context(), "token.create", t.ID, t.Name)
	return t, secret, nil
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name          string `json:"name"`
		ExpiresInDays int    `json:"expires_in_days"`
	}
	if err := decode(w, r, &in); err != nil {
		web.Error(w, r, err)
		return
	}
	t, secret, err := h.newToken(r, in.Name, in.ExpiresInDays)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusCreated, map[string]any{"id": t.ID, "token": secret, "name": t.Name, "expires_at": t.ExpiresAt})
}

// revokeToken revokes token id if the caller owns it or is an admin.
func (h *Handler) revokeToken(r *http.Request, id string) error {
	ts, err := h.tokensOf(r)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(ts, func(t closeloop.APIToken) bool { return t.ID == id }) {
		return closeloop.Errorf(closeloop.ErrNotFound, "no token %s of yours", id)
	}
	if err := h.Store.DeleteAPIToken(r.Context(), id); err != nil {
		return err
	}
	h.audit(r.Context(), "token.revoke", id, "")
	return nil
}

func (h *Handler) deleteToken(w http.ResponseWriter, r *http.Request) {
	if err := h.revokeToken(r, r.PathValue("id")); err != nil {
		web.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]string{"deleted": r.PathValue("id")})
}

// DefaultAuditLimit and MaxAuditLimit bound GET /api/audit.
const (
	DefaultAuditLimit = 200
	MaxAuditLimit     = 1000
)

func (h *Handler) listAudit(w http.ResponseWriter, r *http.Request) {
	limit := DefaultAuditLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxAuditLimit {
			web.Error(w, r, closeloop.Errorf(closeloop.ErrInvalid, "limit must be a whole number from 1 to %d", MaxAuditLimit))
			return
		}
		limit = n
	}
	es, next, err := h.Store.Audit(r.Context(), h.now(), r.URL.Query().Get("cursor"), limit)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	if es == nil {
		es = []closeloop.AuditEntry{}
	}
	web.JSON(w, http.StatusOK, map[string]any{"audit": es, "next_cursor": next})
}

func (h *Handler) listImprovements(w http.ResponseWriter, r *http.Request) {
	ims, err := h.Store.Improvements(r.Context(), 100)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	out := make([]ImprovementView, 0, len(ims))
	for _, im := range ims {
		out = append(out, viewOf(im))
	}
	web.JSON(w, http.StatusOK, map[string]any{"improvements": out})
}

func viewOf(im closeloop.Improvement) ImprovementView {
	return ImprovementView{Improvement: im, Pending: im.Recipients - im.Sent - im.Failed - im.Suppressed}
}

func (h *Handler) deadLetters(r *http.Request) (queue.DeadLetters, error) {
	name := r.PathValue("queue")
	d, ok := h.DeadLetters[name]
	if !ok {
		names := slices.Sorted(maps.Keys(h.DeadLetters))
		return nil, closeloop.Errorf(closeloop.ErrNotFound, "no dead-letter queue %q (queues: %s)", name, strings.Join(names, ", "))
	}
	return d, nil
}

func (h *Handler) listDeadLetters(w http.ResponseWriter, r *http.Request) {
	d, err := h.deadLetters(r)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	ms, err := d.List(r.Context())
	if err != nil {
		web.Error(w, r, err)
		return
	}
	if ms == nil {
		ms = []queue.DeadLetter{}
	}
	web.JSON(w, http.StatusOK, map[string]any{"queue": r.PathValue("queue"), "messages": ms})
}

func (h *Handler) replayDeadLetters(w http.ResponseWriter, r *http.Request) {
	d, err := h.deadLetters(r)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	n, err := d.Replay(r.Context())
	if n > 0 {
		h.audit(r.Context(), "dlq.replay", r.PathValue("queue"), fmt.Sprintf("%d messages", n))
	}
	if err != nil {
		web.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{"queue": r.PathValue("queue"), "replayed": n})
}

// migrateContactIDs runs one page of the move to keyed contact ids
// (docs/privacy.md): body {"cursor", "limit"}, both optional; the answer's
// next_cursor is empty after the last page.
func (h *Handler) migrateContactIDs(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Cursor string `json:"cursor"`
		Limit  int    `json:"limit"`
	}
	if r.ContentLength != 0 {
		if err := decode(w, r, &in); err != nil {
			web.Error(w, r, err)
			return
		}
	}
	if in.Limit < 0 || in.Limit > 1000 {
		web.Error(w, r, closeloop.Errorf(closeloop.ErrInvalid, "limit %d: want 1 to 1000", in.Limit))
		return
	}
	// A page reads 50 items by default: a contact's move takes a dozen
	// requests, and the whole page must finish well inside the API's 29 s.
	m, err := h.Store.MigrateContactIDs(r.Context(), in.Cursor, cmp.Or(in.Limit, 50))
	if m.Contacts > 0 {
		h.audit(r.Context(), "contacts.migrate", "", fmt.Sprintf("%d contacts, %d items moved to keyed ids", m.Contacts, m.Items))
	}
	if err != nil {
		web.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, m)
}

// MaxImport is how many records one POST /api/import takes.
const MaxImport = 500

// importRecords stores past answers and suppressions from another tool
// (closeloop import delighted|csv sends them in batches): body
// {"responses": [closeloop.ImportedResponse], "suppressions":
// [closeloop.ImportedSuppression]}, answered with what was imported and
// every record skipped, with why. Importing the same records again changes
// nothing.
func (h *Handler) importRecords(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Responses    []closeloop.ImportedResponse    `json:"responses"`
		Suppressions []closeloop.ImportedSuppression `json:"suppressions"`
	}
	if err := decode(w, r, &in); err != nil {
		web.Error(w, r, err)
		return
	}
	if n := len(in.Responses) + len(in.Suppressions); n == 0 || n > MaxImport {
		web.Error(w, r, closeloop.Errorf(closeloop.ErrInvalid, "%d records: send 1 to %d at a time", n, MaxImport))
		return
	}
	rep := closeloop.ImportReport{Skipped: []closeloop.Skipped{}}
	now := h.now()
	for _, rec := range in.Responses {
		what := rec.Origin + " response " + rec.ID
		if !slices.Contains(closeloop.ImportOrigins, rec.Origin) {
			rep.Skipped = append(rep.Skipped, closeloop.Skipped{Record: what, Reason: fmt.Sprintf("origin %q: want delighted or csv", rec.Origin)})
			continue
		}
		err := rec.PlaceDay(h.Config.TimeZone, now)
		if err == nil {
			err = rec.Validate(now)
		}
		if err != nil {
			rep.Skipped = append(rep.Skipped, closeloop.Skipped{Record: what, Reason: err.Error()})
			continue
		}
		created, err := h.Store.ImportResponse(r.Context(), rec)
		switch {
		case errors.Is(err, closeloop.ErrErased):
			rep.Skipped = append(rep.Skipped, closeloop.Skipped{Record: what, Reason: "the person was erased"})
		case err != nil:
			h.auditImport(r, rep)
			web.Error(w, r, err) // the records before it are in; sending the batch again is safe
			return
		case created:
			rep.Imported++
		default:
			rep.Already++
		}
	}
	for i, sup := range in.Suppressions {
		if sup.Reason != "unsubscribed" && sup.Reason != "bounce" {
			rep.Skipped = append(rep.Skipped, closeloop.Skipped{Record: fmt.Sprintf("suppression #%d", i+1), Reason: fmt.Sprintf("reason %q: want unsubscribed or bounce", sup.Reason)})
			continue
		}
		err := h.Store.Suppress(r.Context(), sup.Email, sup.Reason)
		if errors.Is(err, closeloop.ErrInvalid) {
			rep.Skipped = append(rep.Skipped, closeloop.Skipped{Record: fmt.Sprintf("suppression #%d", i+1), Reason: err.Error()})
			continue
		}
		if err != nil {
			h.auditImport(r, rep)
			web.Error(w, r, err)
			return
		}
		rep.Suppressions++
	}
	h.auditImport(r, rep)
	web.JSON(w, http.StatusOK, rep)
}

func (h *Handler) auditImport(r *http.Request, rep closeloop.ImportReport) {
	if rep.Imported+rep.Suppressions > 0 {
		h.audit(r.Context(), "import", "", fmt.Sprintf("%d responses, %d suppressions; %d already there, %d skipped", rep.Imported, rep.Suppressions, rep.Already, len(rep.Skipped)))
	}
}

// customerEvents records churn and renewal events (body {"events":
// [{"email", "type": "churned"|"renewed", "at"}]}, at most MaxImport) for
// the retention by cohort, and answers how many were applied and every one
// skipped, with why. Sending the same events again changes nothing.
func (h *Handler) customerEvents(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Events []closeloop.CustomerEvent `json:"events"`
	}
	if err := decode(w, r, &in); err != nil {
		web.Error(w, r, err)
		return
	}
	if len(in.Events) == 0 || len(in.Events) > MaxImport {
		web.Error(w, r, closeloop.Errorf(closeloop.ErrInvalid, "%d events: send 1 to %d at a time", len(in.Events), MaxImport))
		return
	}
	out := struct {
		Applied int                 `json:"applied"`
		Skipped []closeloop.Skipped `json:"skipped"`
	}{Skipped: []closeloop.Skipped{}}
	now := h.now()
	for i, ev := range in.Events {
		what := fmt.Sprintf("event #%d", i+1)
		if err := ev.Validate(now); err != nil {
			out.Skipped = append(out.Skipped, closeloop.Skipped{Record: what, Reason: err.Error()})
			continue
		}
		why, err := h.Store.CustomerEvent(r.Context(), ev)
		if err != nil {
			web.Error(w, r, err)
			return
		}
		if why != "" {
			out.Skipped = append(out.Skipped, closeloop.Skipped{Record: what, Reason: why})
			continue
		}
		out.Applied++
	}
	web.JSON(w, http.StatusOK, out)
}
