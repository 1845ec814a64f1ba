package api

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/mail"
	"github.com/closeloop/closeloop/shared/platform/web"
)

// CaseView is a follow-up case with what the customer said.
type CaseView struct {
	closeloop.Case
	Comment string `json:"comment"`
	Subject string `json:"subject"`
	Agent   string `json:"agent"`
	Overdue bool   `json:"overdue"`
	// TicketURL links the ticket in its helpdesk, when the source's
	// CLOSELOOP_SOURCE_<SOURCE>_TICKET_URL is set.
	TicketURL string `json:"ticket_url,omitempty"`
	// RevisedRating is the answer's rating now, when the customer revised
	// it since the case opened.
	RevisedRating *int `json:"revised_rating,omitempty"`
}

func (h *Handler) caseView(ctx context.Context, c closeloop.Case) (CaseView, error) {
	if c.SurveyID == "" {
		return h.caseViewOf(c, closeloop.Survey{}), nil // a check-in's case: no survey to show
	}
	sv, err := h.Store.GetSurvey(ctx, c.SurveyID)
	if err != nil && !errors.Is(err, closeloop.ErrNotFound) {
		return CaseView{}, err
	}
	return h.caseViewOf(c, sv), nil
}

// caseViewOf is case c as the console and the API show it, with its
// answer sv (zero for a check-in's case or an erased answer).
func (h *Handler) caseViewOf(c closeloop.Case, sv closeloop.Survey) CaseView {
	v := CaseView{Case: c, Overdue: c.Status == closeloop.CaseOpen && h.now().After(c.DueAt), TicketURL: h.Config.TicketURL(c.Source, c.TicketID)}
	v.Comment, v.Subject, v.Agent = sv.Comment, sv.Subject, sv.AgentName
	if sv.Rating != nil && *sv.Rating != c.Rating {
		v.RevisedRating = sv.Rating
	}
	return v
}

func (h *Handler) cases(ctx context.Context, status string) ([]CaseView, error) {
	var st closeloop.CaseStatus
	if status != "" {
		var err error
		if st, err = closeloop.ParseCaseStatus(status); err != nil {
			return nil, err
		}
	}
	cs, err := h.Store.Cases(ctx, st)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.SurveyID
	}
	svs, err := h.Store.GetSurveys(ctx, ids) // in batches of 100, not one read per case
	if err != nil {
		return nil, err
	}
	out := make([]CaseView, 0, len(cs))
	for _, c := range cs {
		out = append(out, h.caseViewOf(c, svs[c.SurveyID]))
	}
	return out, nil
}

func (h *Handler) listCases(w http.ResponseWriter, r *http.Request) {
	cs, err := h.cases(r.Context(), r.URL.Query().Get("status"))
	if err != nil {
		web.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{"cases": cs})
}

func (h *Handler) getCase(w http.ResponseWriter, r *http.Request) {
	c, err := h.Store.GetCase(r.Context(), r.PathValue("id"))
	if err != nil {
		web.Error(w, r, err)
		return
	}
	v, err := h.caseView(r.Context(), c)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, v)
}

// changeCase applies an operator's change to case id.
func (h *Handler) changeCase(ctx context.Context, id string, ch closeloop.CaseChange) (closeloop.Case, error) {
	if ch.Owner != nil && *ch.Owner != "" {
		addr, err := closeloop.NormalizeEmail(*ch.Owner)
		if err != nil {
			return closeloop.Case{}, closeloop.Errorf(closeloop.ErrInvalid, "owner: %v", err)
		}
		if op, err := h.Store.GetOperator(ctx, addr); errors.Is(err, closeloop.ErrNotFound) {
			return closeloop.Case{}, closeloop.Errorf(closeloop.ErrInvalid, "owner %s is not an operator", addr)
		} else if err != nil {
			return closeloop.Case{}, err
		} else if !op.Role.Allows(closeloop.RoleEditor) {
			return closeloop.Case{}, closeloop.Errorf(closeloop.ErrInvalid, "owner %s is a viewer, who can neither reply nor change the case: make them an editor first", addr)
		}
		ch.Owner = &addr
	}
	ch.Note = strings.TrimSpace(ch.Note)
	if err := ch.Validate(); err != nil {
		return closeloop.Case{}, err
	}
	c, err := h.Store.UpdateCase(ctx, id, ch, principalOf(ctx).Email, h.now())
	if err != nil {
		return c, err
	}
	detail := string(ch.Status)
	if ch.Owner != nil {
		detail += " owner " + cmp.Or(*ch.Owner, "(none)")
	}
	if ch.Note != "" {
		detail += " +note"
	}
	h.audit(ctx, "case.update", id, strings.TrimSpace(detail))
	return c, nil
}

func (h *Handler) patchCase(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Status string  `json:"status"`
		Owner  *string `json:"owner"`
		Note   string  `json:"note"`
	}
	if err := decode(w, r, &in); err != nil {
		web.Error(w, r, err)
		return
	}
	c, err := h.changeCase(r.Context(), r.PathValue("id"), closeloop.CaseChange{Status: closeloop.CaseStatus(in.Status), Owner: in.Owner, Note: in.Note})
	if err != nil {
		web.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, c)
}

// errReplied is a reply that went already: the same form (key) again.
var errReplied = errors.New("this reply went already")

// reply emails the customer of case id the operator's own words, once per
// key (the console form's nonce, an API client's Idempotency-Key; the
// message itself without one), so a double click or a retry sends one
// email and answers errReplied; the same words from a new form go again.
// Replies go to the team (CLOSELOOP_ALERT_EMAIL) or else to the operator,
// and the case is marked contacted. An unsubscribed or erased customer is
// not emailed.
func (h *Handler) reply(ctx context.Context, id, message, key string) (closeloop.Case, error) {
	message = strings.TrimSpace(message)
	switch {
	case message == "":
		return closeloop.Case{}, closeloop.Errorf(closeloop.ErrInvalid, "message is required")
	}
	if err := closeloop.ValidOperatorText("message", message); err != nil {
		return closeloop.Case{}, err
	}
	c, err := h.Store.GetCase(ctx, id)
	if err != nil {
		return c, err
	}
	var sv closeloop.Survey // none for a check-in's case
	if c.SurveyID != "" {
		if sv, err = h.Store.GetSurvey(ctx, c.SurveyID); err == nil && sv.Erased() {
			err = closeloop.Errorf(closeloop.ErrExpired, "this customer was erased")
		}
		if err != nil {
			return c, err
		}
	}
	read := time.Now()
	contact, err := h.Store.GetContact(ctx, cmp.Or(sv.ContactID, c.ContactID))
	if errors.Is(err, closeloop.ErrNotFound) {
		err = closeloop.Errorf(closeloop.ErrExpired, "this customer was erased")
	}
	if err != nil {
		return c, err
	}
	unsubscribed := closeloop.Errorf(closeloop.ErrConflict, "the customer unsubscribed or their address bounced: reply from your helpdesk instead")
	if contact.Suppressed != "" {
		return c, unsubscribed
	}
	// A key names one reply of one operator: its words are part of it, so
	// the same key with other words is another reply, never one lost.
	name := message
	if key != "" {
		name = principalOf(ctx).Email + "\x00" + key + "\x00" + message
	}
	claim := "reply/" + c.ID + "/" + closeloop.SecretID(name)[:16]
	if err := h.Store.Claim(ctx, claim, h.now()); errors.Is(err, closeloop.ErrDuplicate) {
		c, err := h.Store.GetCase(ctx, id) // this very reply went already
		return c, cmp.Or(err, errReplied)
	} else if err != nil {
		return c, err
	}
	subject := "" // "About your request", in the customer's language
	if sv.Subject != "" {
		subject = "Re: " + sv.Subject
	}
	p := principalOf(ctx)
	m, err := mail.ReplyEmail(contact.Email, cmp.Or(h.Config.AlertEmail, h.owner(p)), cmp.Or(sv.Locale, contact.Locale), subject, message, h.Config.Brand)
	if err == nil {
		m.Tags = map[string]string{"closeloop_kind": "reply", "case_id": c.ID}
		m.Recheck = mail.StillMailable(read, contact.ID, h.Store.GetContact)
		_, err = h.Mailer.Send(ctx, m)
		if errors.Is(err, mail.ErrUnsubscribed) {
			err = unsubscribed
		}
	}
	if err != nil {
		if rerr := h.Store.Release(ctx, claim); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return c, err
	}
	status := closeloop.CaseContacted
	if c.Status == closeloop.CaseResolved {
		status = closeloop.CaseResolved
	}
	c, err = h.Store.UpdateCase(ctx, id, closeloop.CaseChange{Status: status, Note: "Replied by email:\n" + message}, p.Email, h.now())
	if err != nil {
		return c, err
	}
	h.audit(ctx, "case.reply", id, "")
	return c, nil
}

func (h *Handler) replyCase(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Message string `json:"message"`
	}
	if err := decode(w, r, &in); err != nil {
		web.Error(w, r, err)
		return
	}
	c, err := h.reply(r.Context(), r.PathValue("id"), in.Message, r.Header.Get("Idempotency-Key"))
	if errors.Is(err, errReplied) {
		// A repeat: 200, saying so.
		web.JSON(w, http.StatusOK, struct {
			closeloop.Case
			RepliedAlready bool `json:"replied_already"`
		}{c, true})
		return
	}
	if err != nil {
		web.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, c)
}

type casesData struct {
	Cases  []CaseView
	Status string
}

func (h *Handler) casesPage(w http.ResponseWriter, r *http.Request, v view) error {
	status := r.URL.Query().Get("status")
	if status == "" && !r.URL.Query().Has("status") {
		status = string(closeloop.CaseOpen)
	}
	cs, err := h.cases(r.Context(), status)
	if err != nil {
		return err
	}
	v.Title, v.Nav, v.Data = "Follow-up", "cases", casesData{Cases: cs, Status: status}
	return h.render(w, r, http.StatusOK, "cases.html", v)
}

type caseData struct {
	CaseView
	Operators []closeloop.Operator
	Sent      string // "1" after a reply went, "again" after the same form went already
	Nonce     string // names the reply form: sent twice, it sends once
}

func (h *Handler) caseData(ctx context.Context, id string) (caseData, error) {
	c, err := h.Store.GetCase(ctx, id)
	if err != nil {
		return caseData{}, err
	}
	cv, err := h.caseView(ctx, c)
	if err != nil {
		return caseData{}, err
	}
	ops, err := h.Store.Operators(ctx)
	// Owners can act on the case: editors and admins, and the owner it has
	// (shown selected, so saving the page keeps them).
	ops = slices.DeleteFunc(ops, func(op closeloop.Operator) bool { return !op.Role.Allows(closeloop.RoleEditor) && op.Email != cv.Owner })
	return caseData{CaseView: cv, Operators: ops}, err
}

func (h *Handler) casePage(w http.ResponseWriter, r *http.Request, v view) error {
	d, err := h.caseData(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	d.Sent, d.Nonce = r.URL.Query().Get("sent"), closeloop.NewID()
	v.Title, v.Nav, v.Data = "Follow-up case", "cases", d
	return h.render(w, r, http.StatusOK, "case.html", v)
}

// caseUpdate saves the case form: its note, and the status and owner the
// operator changed. The form says what it showed (was_status, was_owner):
// what it merely sends back as it was is no change, so a page loaded
// before another operator's change does not undo it.
func (h *Handler) caseUpdate(w http.ResponseWriter, r *http.Request, v view) error {
	f := r.PostForm
	ch := closeloop.CaseChange{Note: f.Get("note")}
	if status := f.Get("status"); !f.Has("was_status") || status != f.Get("was_status") {
		ch.Status = closeloop.CaseStatus(status)
	}
	if owner := f.Get("owner"); f.Has("owner") && (!f.Has("was_owner") || owner != f.Get("was_owner")) {
		ch.Owner = &owner
	}
	if _, err := h.changeCase(r.Context(), r.PathValue("id"), ch); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/cases/"+r.PathValue("id"), http.StatusSeeOther)
	return nil
}

func (h *Handler) caseReply(w http.ResponseWriter, r *http.Request, v view) error {
	sent := "1"
	if _, err := h.reply(r.Context(), r.PathValue("id"), r.PostForm.Get("message"), r.PostForm.Get("nonce")); errors.Is(err, errReplied) {
		sent = "again"
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/console/cases/"+r.PathValue("id")+"?sent="+sent, http.StatusSeeOther)
	return nil
}
