// Package i18n holds the words customers read, in every language Closeloop
// speaks, so that emails and pages reach people in their own language.
package i18n

import (
	"strings"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// Texts is every customer-facing string in one language. Strings with %s
// take the arguments their comment names, in order.
type Texts struct {
	Lang string // BCP 47 primary tag, e.g. "en"

	SurveySubject   string // ticket subject
	ReminderPrefix  string // before a reminder's subject
	Greeting        string // customer name
	GreetingPlain   string // no name known
	SolvedBy        string // ticket subject, agent name
	SolvedPlain     string // ticket subject
	SolvedByAgent   string // agent name: a ticket without a subject
	SolvedUntitled  string // a ticket without a subject, no agent known
	OneClick        string
	Unsubscribe     string
	UnsubscribeLink string

	Question map[closeloop.Kind]string
	Low      map[closeloop.Kind]string
	High     map[closeloop.Kind]string

	PageTitle     string
	CommentLabel  string
	Submit        string
	ThanksTitle   string
	Thanks        string
	ThanksLow     string // after an unhappy answer
	TitleGone     string // page title: expired or erased
	TitleUnknown  string // page title: no such link
	TitleUnsub    string // page title: unsubscribed
	TitleAnswered string // page title: a survey already answered
	DateLayout    string // Go layout of dates, e.g. "02.01.2006"
	ChangeUntil   string // expiry date
	Expired       string
	NotFound      string
	TooLong       string
	BadRating     string
	UnsubTitle    string
	UnsubExplain  string
	UnsubButton   string
	UnsubDone     string

	ClosingSubject string // improvement summary
	ClosingIntro   string
	ClosingChanged string
	ClosingThanks  string
	ClosingLink    string
	AckSubject     string // the acknowledgement of a comment
	CheckInPick    string // a check-in sent without yes or no
	FormUnreadable string // a page's form that could not be read
	TryAgain       string // a failure of ours on a page
	TitleTryAgain  string
	ReplySubject   string // an operator's reply about a ticket without a subject
	AckBody        string
	CheckInSubject string // the check-in a week after a solve
	CheckInAsk     string
	CheckInYes     string
	CheckInNo      string
	CheckInThanks  string
}

// For returns the texts for locale (e.g. "de", "de-AT", "pt_BR", or a
// language's name in English or in itself, "German", "Deutsch",
// "Portuguese (Brazil)", as some helpdesks' placeholders give it),
// falling back to English for a language Closeloop does not speak yet.
func For(locale string) *Texts {
	if t, ok := catalog[closeloop.PrimaryLanguage(locale)]; ok {
		return t
	}
	return catalog["en"]
}

// ForRequest returns the texts for locale, or, when Closeloop does not
// know the customer's language, for the first language of an HTTP
// Accept-Language header that it speaks.
func ForRequest(locale, acceptLanguage string) *Texts {
	if locale != "" {
		return For(locale)
	}
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, _, _ := strings.Cut(part, ";")
		if t, ok := catalog[closeloop.PrimaryLanguage(tag)]; ok {
			return t
		}
	}
	return catalog["en"]
}

// Languages lists the languages in the catalog.
func Languages() []string {
	return []string{"en", "de", "fr", "es", "pt", "it", "nl", "ja"}
}

var catalog = map[string]*Texts{
	"en": {
		Lang:            "en",
		TitleAnswered:   "You already answered",
		DateLayout:      "2 Jan 2006",
		SurveySubject:   "How did we do? (%s)",
		ReminderPrefix:  "Reminder: ",
		Greeting:        "Hi %s,",
		GreetingPlain:   "Hi,",
		SolvedBy:        "Your request “%s” was solved by %s.",
		SolvedPlain:     "Your request “%s” was solved.",
		SolvedByAgent:   "Your request was solved by %s.",
		SolvedUntitled:  "Your request was solved.",
		OneClick:        "Pick a rating: a short page opens where you can confirm it and add a comment.",
		Unsubscribe:     "Don't want feedback emails from us?",
		UnsubscribeLink: "Unsubscribe",
		Question: map[closeloop.Kind]string{
			closeloop.CSAT: "How satisfied are you with the support you received?",
			closeloop.NPS:  "How likely are you to recommend us to a friend or colleague?",
			closeloop.CES:  "How easy was it to get your issue resolved?",
		},
		Low:  map[closeloop.Kind]string{closeloop.CSAT: "Very unsatisfied", closeloop.NPS: "Not at all likely", closeloop.CES: "Very difficult"},
		High: map[closeloop.Kind]string{closeloop.CSAT: "Very satisfied", closeloop.NPS: "Extremely likely", closeloop.CES: "Very easy"},

		PageTitle:    "Your feedback",
		CommentLabel: "Anything you would like to add? (optional)",
		Submit:       "Send feedback",
		ThanksTitle:  "Thank you!",
		Thanks:       "Your feedback was recorded. It goes straight to the team that helped you.",
		ThanksLow:    "We are sorry we let you down. A person from the team reads every answer like yours and will get back to you.",
		TitleGone:    "This survey has closed",
		TitleUnknown: "Link not found",
		TitleUnsub:   "You are unsubscribed",
		ChangeUntil:  "You can change your answer from the link in the email until %s.",
		Expired:      "This survey has closed. Thank you for your interest.",
		NotFound:     "This survey link is not valid.",
		TooLong:      "Your answer is too long to send. Please shorten the comment and try again.",
		BadRating:    "Please choose a rating.",
		UnsubTitle:   "Unsubscribe",
		UnsubExplain: "You will no longer receive surveys or follow-ups from us at this address.",
		UnsubButton:  "Unsubscribe",
		UnsubDone:    "You are unsubscribed. We will not send you feedback emails again.",

		ClosingSubject: "You said, we did: %s",
		ClosingIntro:   "Some time ago you told us:",
		ClosingChanged: "We listened. Here is what we changed:",
		ClosingThanks:  "Thank you for taking the time to tell us. It made a difference.",
		ClosingLink:    "Read more",
		AckSubject:     "We received your comment",
		CheckInSubject: "Is everything still working? (%s)",
		CheckInAsk:     "We solved your request a while ago. Is everything still working?",
		CheckInYes:     "Yes, all good",
		CheckInNo:      "No, it is not fixed",
		CheckInThanks:  "Thank you. If something is still wrong, a person from the team will get back to you.",
		AckBody:        "Your comment has reached our support team, and a person will read it. Thank you: we will write to you again when something changes because of it.",
		CheckInPick:    "Please choose yes or no.",
		FormUnreadable: "Your answer could not be read. Please send it again.",
		TryAgain:       "Something went wrong on our side. Please try again in a moment.",
		TitleTryAgain:  "Please try again",
		ReplySubject:   "About your request",
	},
	"de": {
		Lang:            "de",
		TitleAnswered:   "Sie haben bereits geantwortet",
		DateLayout:      "02.01.2006",
		SurveySubject:   "Wie waren wir? (%s)",
		ReminderPrefix:  "Erinnerung: ",
		Greeting:        "Hallo %s,",
		GreetingPlain:   "Hallo,",
		SolvedBy:        "Ihre Anfrage „%s“ wurde von %s gelöst.",
		SolvedPlain:     "Ihre Anfrage „%s“ wurde gelöst.",
		SolvedByAgent:   "Ihre Anfrage wurde von %s gelöst.",
		SolvedUntitled:  "Ihre Anfrage wurde gelöst.",
		OneClick:        "Wählen Sie eine Bewertung: Auf einer kurzen Seite bestätigen Sie sie und können einen Kommentar ergänzen.",
		Unsubscribe:     "Sie möchten keine Feedback-E-Mails von uns?",
		UnsubscribeLink: "Abmelden",
		Question: map[closeloop.Kind]string{
			closeloop.CSAT: "Wie zufrieden sind Sie mit dem erhaltenen Support?",
			closeloop.NPS:  "Wie wahrscheinlich ist es, dass Sie uns Freunden oder Kollegen empfehlen?",
			closeloop.CES:  "Wie einfach war es, Ihr Anliegen zu lösen?",
		},
		Low:  map[closeloop.Kind]string{closeloop.CSAT: "Sehr unzufrieden", closeloop.NPS: "Überhaupt nicht wahrscheinlich", closeloop.CES: "Sehr schwierig"},
		High: map[closeloop.Kind]string{closeloop.CSAT: "Sehr zufrieden", closeloop.NPS: "Äußerst wahrscheinlich", closeloop.CES: "Sehr einfach"},

		PageTitle:    "Ihr Feedback",
		CommentLabel: "Möchten Sie noch etwas ergänzen? (optional)",
		Submit:       "Feedback senden",
		ThanksTitle:  "Vielen Dank!",
		Thanks:       "Ihr Feedback wurde gespeichert. Es geht direkt an das Team, das Ihnen geholfen hat.",
		ThanksLow:    "Es tut uns leid, dass wir Sie enttäuscht haben. Ein Mensch aus dem Team liest jede Antwort wie Ihre und meldet sich bei Ihnen.",
		TitleGone:    "Diese Umfrage ist beendet",
		TitleUnknown: "Link nicht gefunden",
		TitleUnsub:   "Sie sind abgemeldet",
		ChangeUntil:  "Sie können Ihre Antwort über den Link in der E-Mail bis %s ändern.",
		Expired:      "Diese Umfrage ist beendet. Danke für Ihr Interesse.",
		NotFound:     "Dieser Umfragelink ist ungültig.",
		TooLong:      "Ihre Antwort ist zu lang. Bitte kürzen Sie den Kommentar und senden Sie ihn erneut.",
		BadRating:    "Bitte wählen Sie eine Bewertung.",
		UnsubTitle:   "Abmelden",
		UnsubExplain: "Sie erhalten an diese Adresse keine Umfragen oder Rückmeldungen mehr von uns.",
		UnsubButton:  "Abmelden",
		UnsubDone:    "Sie sind abgemeldet. Wir senden Ihnen keine Feedback-E-Mails mehr.",

		ClosingSubject: "Sie haben es gesagt, wir haben gehandelt: %s",
		ClosingIntro:   "Vor einiger Zeit haben Sie uns geschrieben:",
		ClosingChanged: "Wir haben zugehört. Das haben wir geändert:",
		ClosingThanks:  "Danke, dass Sie sich die Zeit genommen haben. Es hat etwas bewirkt.",
		ClosingLink:    "Mehr lesen",
		AckSubject:     "Wir haben Ihren Kommentar erhalten",
		CheckInSubject: "Funktioniert alles noch? (%s)",
		CheckInAsk:     "Wir haben Ihre Anfrage vor einiger Zeit gelöst. Funktioniert alles noch?",
		CheckInYes:     "Ja, alles gut",
		CheckInNo:      "Nein, es ist nicht gelöst",
		CheckInThanks:  "Danke. Wenn noch etwas nicht stimmt, meldet sich ein Mensch aus dem Team bei Ihnen.",
		AckBody:        "Ihr Kommentar ist bei unserem Support-Team angekommen, und ein Mensch wird ihn lesen. Danke: Wir melden uns wieder, wenn sich deshalb etwas ändert.",
		CheckInPick:    "Bitte wählen Sie Ja oder Nein.",
		FormUnreadable: "Ihre Antwort konnte nicht gelesen werden. Bitte senden Sie sie noch einmal.",
		TryAgain:       "Bei uns ist etwas schiefgegangen. Bitte versuchen Sie es gleich noch einmal.",
		TitleTryAgain:  "Bitte versuchen Sie es noch einmal",
		ReplySubject:   "Zu Ihrer Anfrage",
	},
	"fr": {
		Lang:            "fr",
		TitleAnswered:   "Vous avez déjà répondu",
		DateLayout:      "02/01/2006",
		SurveySubject:   "Comment avons-nous fait ? (%s)",
		ReminderPrefix:  "Rappel : ",
		Greeting:        "Bonjour %s,",
		GreetingPlain:   "Bonjour,",
		SolvedBy:        "Votre demande « %s » a été résolue par %s.",
		SolvedPlain:     "Votre demande « %s » a été résolue.",
		SolvedByAgent:   "Votre demande a été résolue par %s.",
		SolvedUntitled:  "Votre demande a été résolue.",
		OneClick:        "Choisissez une note : une courte page s’ouvre pour la confirmer et ajouter un commentaire.",
		Unsubscribe:     "Vous ne souhaitez plus recevoir nos e-mails d’avis ?",
		UnsubscribeLink: "Se désabonner",
		Question: map[closeloop.Kind]string{
			closeloop.CSAT: "Êtes-vous satisfait de l’assistance que vous avez reçue ?",
			closeloop.NPS:  "Quelle est la probabilité que vous nous recommandiez à un ami ou un collègue ?",
			closeloop.CES:  "Dans quelle mesure a-t-il été facile de résoudre votre problème ?",
		},
		Low:  map[closeloop.Kind]string{closeloop.CSAT: "Très insatisfait", closeloop.NPS: "Pas du tout probable", closeloop.CES: "Très difficile"},
		High: map[closeloop.Kind]string{closeloop.CSAT: "Très satisfait", closeloop.NPS: "Très probable", closeloop.CES: "Très facile"},

		PageTitle:    "Votre avis",
		CommentLabel: "Souhaitez-vous ajouter quelque chose ? (facultatif)",
		Submit:       "Envoyer",
		ThanksTitle:  "Merci !",
		Thanks:       "Votre avis a été enregistré. Il est transmis directement à l’équipe qui vous a aidé.",
		ThanksLow:    "Nous sommes désolés de vous avoir déçu. Une personne de l’équipe lit chaque réponse comme la vôtre et reviendra vers vous.",
		TitleGone:    "Ce questionnaire est clos",
		TitleUnknown: "Lien introuvable",
		TitleUnsub:   "Vous êtes désinscrit",
		ChangeUntil:  "Vous pouvez modifier votre réponse depuis le lien de l’e-mail jusqu’au %s.",
		Expired:      "Ce questionnaire est clos. Merci de votre intérêt.",
		NotFound:     "Ce lien de questionnaire n’est pas valide.",
		TooLong:      "Votre réponse est trop longue. Raccourcissez le commentaire et envoyez-le à nouveau.",
		BadRating:    "Veuillez choisir une note.",
		UnsubTitle:   "Se désabonner",
		UnsubExplain: "Vous ne recevrez plus de questionnaires ni de suivis de notre part à cette adresse.",
		UnsubButton:  "Se désabonner",
		UnsubDone:    "Vous êtes désabonné. Nous ne vous enverrons plus d’e-mails d’avis.",

		ClosingSubject: "Vous l’avez dit, nous l’avons fait : %s",
		ClosingIntro:   "Il y a quelque temps, vous nous avez dit :",
		ClosingChanged: "Nous vous avons écouté. Voici ce qui a changé :",
		ClosingThanks:  "Merci d’avoir pris le temps de nous écrire. Cela a fait la différence.",
		ClosingLink:    "En savoir plus",
		AckSubject:     "Nous avons bien reçu votre commentaire",
		CheckInSubject: "Tout fonctionne-t-il toujours ? (%s)",
		CheckInAsk:     "Nous avons résolu votre demande il y a quelque temps. Tout fonctionne-t-il toujours ?",
		CheckInYes:     "Oui, tout va bien",
		CheckInNo:      "Non, ce n’est pas réglé",
		CheckInThanks:  "Merci. Si quelque chose ne va toujours pas, une personne de l’équipe reviendra vers vous.",
		AckBody:        "Votre commentaire est parvenu à notre équipe d’assistance, et une personne va le lire. Merci : nous vous écrirons de nouveau quand quelque chose changera grâce à vous.",
		CheckInPick:    "Veuillez choisir oui ou non.",
		FormUnreadable: "Votre réponse n’a pas pu être lue. Veuillez la renvoyer.",
		TryAgain:       "Un problème est survenu de notre côté. Veuillez réessayer dans un instant.",
		TitleTryAgain:  "Veuillez réessayer",
		ReplySubject:   "À propos de votre demande",
	},
	"es": {
		Lang:            "es",
		TitleAnswered:   "Ya respondiste",
		DateLayout:      "02/01/2006",
		SurveySubject:   "¿Qué tal lo hicimos? (%s)",
		ReminderPrefix:  "Recordatorio: ",
		Greeting:        "Hola, %s:",
		GreetingPlain:   "Hola:",
		SolvedBy:        "%[2]s resolvió tu solicitud «%[1]s».",
		SolvedPlain:     "Tu solicitud «%s» se ha resuelto.",
		SolvedByAgent:   "%s resolvió tu solicitud.",
		SolvedUntitled:  "Tu solicitud se ha resuelto.",
		OneClick:        "Elige una valoración: se abrirá una página breve para confirmarla y añadir un comentario.",
		Unsubscribe:     "¿No quieres recibir nuestros correos de opinión?",
		UnsubscribeLink: "Darse de baja",
		Question: map[closeloop.Kind]string{
			closeloop.CSAT: "¿Qué tan satisfecho estás con la atención que recibiste?",
			closeloop.NPS:  "¿Qué probabilidad hay de que nos recomiendes a un amigo o colega?",
			closeloop.CES:  "¿Qué tan fácil fue resolver tu problema?",
		},
		Low:  map[closeloop.Kind]string{closeloop.CSAT: "Muy insatisfecho", closeloop.NPS: "Nada probable", closeloop.CES: "Muy difícil"},
		High: map[closeloop.Kind]string{closeloop.CSAT: "Muy satisfecho", closeloop.NPS: "Muy probable", closeloop.CES: "Muy fácil"},

		PageTitle:    "Tu opinión",
		CommentLabel: "¿Quieres añadir algo? (opcional)",
		Submit:       "Enviar opinión",
		ThanksTitle:  "¡Gracias!",
		Thanks:       "Hemos registrado tu opinión. Llega directamente al equipo que te ayudó.",
		ThanksLow:    "Sentimos haberte fallado. Una persona del equipo lee cada respuesta como la tuya y se pondrá en contacto contigo.",
		TitleGone:    "Esta encuesta ha finalizado",
		TitleUnknown: "Enlace no encontrado",
		TitleUnsub:   "Te has dado de baja",
		ChangeUntil:  "Puedes cambiar tu respuesta desde el enlace del correo hasta el %s.",
		Expired:      "Esta encuesta ha finalizado. Gracias por tu interés.",
		NotFound:     "Este enlace de encuesta no es válido.",
		TooLong:      "Tu respuesta es demasiado larga. Acorta el comentario y vuelve a enviarlo.",
		BadRating:    "Elige una valoración.",
		UnsubTitle:   "Darse de baja",
		UnsubExplain: "Ya no recibirás encuestas ni seguimientos nuestros en esta dirección.",
		UnsubButton:  "Darse de baja",
		UnsubDone:    "Te has dado de baja. No volveremos a enviarte correos de opinión.",

		ClosingSubject: "Nos lo dijiste y lo hicimos: %s",
		ClosingIntro:   "Hace un tiempo nos dijiste:",
		ClosingChanged: "Te escuchamos. Esto es lo que cambiamos:",
		ClosingThanks:  "Gracias por dedicar tu tiempo a contárnoslo. Ha marcado la diferencia.",
		ClosingLink:    "Leer más",
		AckSubject:     "Hemos recibido tu comentario",
		CheckInSubject: "¿Sigue funcionando todo? (%s)",
		CheckInAsk:     "Resolvimos tu solicitud hace un tiempo. ¿Sigue funcionando todo?",
		CheckInYes:     "Sí, todo bien",
		CheckInNo:      "No, no está resuelto",
		CheckInThanks:  "Gracias. Si algo sigue mal, una persona del equipo se pondrá en contacto contigo.",
		AckBody:        "Tu comentario ha llegado a nuestro equipo de soporte y una persona lo leerá. Gracias: te volveremos a escribir cuando algo cambie gracias a ello.",
		CheckInPick:    "Elige sí o no, por favor.",
		FormUnreadable: "No pudimos leer tu respuesta. Envíala de nuevo, por favor.",
		TryAgain:       "Algo salió mal por nuestra parte. Inténtalo de nuevo en un momento.",
		TitleTryAgain:  "Inténtalo de nuevo",
		ReplySubject:   "Sobre tu solicitud",
	},
	"pt": {
		Lang:            "pt",
		TitleAnswered:   "Você já respondeu",
		DateLayout:      "02/01/2006",
		SurveySubject:   "Como nos saímos? (%s)",
		ReminderPrefix:  "Lembrete: ",
		Greeting:        "Olá %s,",
		GreetingPlain:   "Olá,",
		SolvedBy:        "Sua solicitação “%s” foi resolvida por %s.",
		SolvedPlain:     "Sua solicitação “%s” foi resolvida.",
		SolvedByAgent:   "Sua solicitação foi resolvida por %s.",
		SolvedUntitled:  "Sua solicitação foi resolvida.",
		OneClick:        "Escolha uma nota: abre-se uma página curta onde você pode confirmá-la e deixar um comentário.",
		Unsubscribe:     "Não quer receber e-mails de avaliação?",
		UnsubscribeLink: "Cancelar inscrição",
		PageTitle:       "Sua avaliação",
		CommentLabel:    "Algo mais que queira acrescentar? (opcional)",
		Submit:          "Enviar avaliação",
		ThanksTitle:     "Obrigado!",
		Thanks:          "Sua avaliação foi registrada. Ela vai direto para a equipe que ajudou você.",
		ThanksLow:       "Lamentamos ter decepcionado você. Uma pessoa da equipe lê cada resposta como a sua e vai entrar em contato.",
		TitleGone:       "Esta pesquisa foi encerrada",
		TitleUnknown:    "Link não encontrado",
		TitleUnsub:      "Inscrição cancelada",
		ChangeUntil:     "Você pode alterar sua resposta pelo link do e-mail até %s.",
		Expired:         "Esta pesquisa foi encerrada. Obrigado pelo interesse.",
		NotFound:        "Este link de pesquisa não é válido.",
		TooLong:         "Sua resposta é longa demais. Encurte o comentário e tente de novo.",
		BadRating:       "Escolha uma nota.",
		UnsubTitle:      "Cancelar inscrição",
		UnsubExplain:    "Você não receberá mais pesquisas nem acompanhamentos nossos neste endereço.",
		UnsubButton:     "Cancelar inscrição",
		UnsubDone:       "Sua inscrição foi cancelada. Não enviaremos mais e-mails de avaliação.",
		ClosingSubject:  "Você disse, nós fizemos: %s",
		ClosingIntro:    "Há algum tempo você nos disse:",
		ClosingChanged:  "Nós ouvimos. Eis o que mudamos:",
		ClosingThanks:   "Obrigado por dedicar seu tempo a nos contar. Fez diferença.",
		ClosingLink:     "Saiba mais",
		AckSubject:      "Recebemos o seu comentário",
		AckBody:         "O seu comentário chegou à nossa equipe de suporte, e uma pessoa vai lê-lo. Obrigado: voltaremos a escrever quando algo mudar por causa disso.",
		CheckInPick:     "Escolha sim ou não, por favor.",
		FormUnreadable:  "Não foi possível ler a sua resposta. Envie-a novamente, por favor.",
		TryAgain:        "Algo deu errado do nosso lado. Tente novamente em instantes.",
		TitleTryAgain:   "Tente novamente",
		ReplySubject:    "Sobre a sua solicitação",
		CheckInSubject:  "Está tudo funcionando? (%s)",
		CheckInAsk:      "Resolvemos sua solicitação há algum tempo. Está tudo funcionando?",
		CheckInYes:      "Sim, tudo certo",
		CheckInNo:       "Não, não foi resolvido",
		CheckInThanks:   "Obrigado. Se algo ainda estiver errado, uma pessoa da equipe entrará em contato.",
		Question:        map[closeloop.Kind]string{closeloop.CSAT: "Quão satisfeito você está com o atendimento recebido?", closeloop.NPS: "Qual a probabilidade de você nos recomendar a um amigo ou colega?", closeloop.CES: "Quão fácil foi resolver o seu problema?"},
		Low:             map[closeloop.Kind]string{closeloop.CSAT: "Muito insatisfeito", closeloop.NPS: "Nada provável", closeloop.CES: "Muito difícil"},
		High:            map[closeloop.Kind]string{closeloop.CSAT: "Muito satisfeito", closeloop.NPS: "Extremamente provável", closeloop.CES: "Muito fácil"},
	},
	"it": {
		Lang:            "it",
		TitleAnswered:   "Hai già risposto",
		DateLayout:      "02/01/2006",
		SurveySubject:   "Com'è andata? (%s)",
		ReminderPrefix:  "Promemoria: ",
		Greeting:        "Ciao %s,",
		GreetingPlain:   "Ciao,",
		SolvedBy:        "La tua richiesta “%s” è stata risolta da %s.",
		SolvedPlain:     "La tua richiesta “%s” è stata risolta.",
		SolvedByAgent:   "La tua richiesta è stata risolta da %s.",
		SolvedUntitled:  "La tua richiesta è stata risolta.",
		OneClick:        "Scegli un voto: si apre una breve pagina dove puoi confermarlo e aggiungere un commento.",
		Unsubscribe:     "Non vuoi ricevere email di valutazione?",
		UnsubscribeLink: "Annulla l'iscrizione",
		PageTitle:       "La tua opinione",
		CommentLabel:    "Vuoi aggiungere qualcosa? (facoltativo)",
		Submit:          "Invia",
		ThanksTitle:     "Grazie!",
		Thanks:          "La tua opinione è stata registrata. Arriva direttamente al team che ti ha aiutato.",
		ThanksLow:       "Ci dispiace di averti deluso. Una persona del team legge ogni risposta come la tua e ti ricontatterà.",
		TitleGone:       "Questo sondaggio è chiuso",
		TitleUnknown:    "Link non trovato",
		TitleUnsub:      "Iscrizione annullata",
		ChangeUntil:     "Puoi modificare la tua risposta dal link nell'email fino al %s.",
		Expired:         "Questo sondaggio è chiuso. Grazie per l'interesse.",
		NotFound:        "Questo link al sondaggio non è valido.",
		TooLong:         "La risposta è troppo lunga. Accorcia il commento e riprova.",
		BadRating:       "Scegli un voto.",
		UnsubTitle:      "Annulla l'iscrizione",
		UnsubExplain:    "Non riceverai più sondaggi né ricontatti da noi a questo indirizzo.",
		UnsubButton:     "Annulla l'iscrizione",
		UnsubDone:       "Iscrizione annullata. Non ti invieremo più email di valutazione.",
		ClosingSubject:  "Ci hai detto, abbiamo fatto: %s",
		ClosingIntro:    "Tempo fa ci hai scritto:",
		ClosingChanged:  "Ti abbiamo ascoltato. Ecco cosa abbiamo cambiato:",
		ClosingThanks:   "Grazie per aver dedicato del tempo a dircelo. Ha fatto la differenza.",
		ClosingLink:     "Scopri di più",
		AckSubject:      "Abbiamo ricevuto il tuo commento",
		AckBody:         "Il tuo commento è arrivato al nostro team di assistenza e una persona lo leggerà. Grazie: ti scriveremo di nuovo quando qualcosa cambierà grazie a te.",
		CheckInPick:     "Scegli sì o no, per favore.",
		FormUnreadable:  "Non è stato possibile leggere la tua risposta. Inviala di nuovo, per favore.",
		TryAgain:        "Qualcosa è andato storto da parte nostra. Riprova tra un momento.",
		TitleTryAgain:   "Riprova",
		ReplySubject:    "A proposito della tua richiesta",
		CheckInSubject:  "Funziona ancora tutto? (%s)",
		CheckInAsk:      "Abbiamo risolto la tua richiesta qualche tempo fa. Funziona ancora tutto?",
		CheckInYes:      "Sì, tutto bene",
		CheckInNo:       "No, non è risolto",
		CheckInThanks:   "Grazie. Se qualcosa non va ancora, una persona del team ti ricontatterà.",
		Question:        map[closeloop.Kind]string{closeloop.CSAT: "Quanto sei soddisfatto dell'assistenza ricevuta?", closeloop.NPS: "Quanto è probabile che ci consiglieresti a un amico o a un collega?", closeloop.CES: "Quanto è stato facile risolvere il tuo problema?"},
		Low:             map[closeloop.Kind]string{closeloop.CSAT: "Per niente soddisfatto", closeloop.NPS: "Per niente probabile", closeloop.CES: "Molto difficile"},
		High:            map[closeloop.Kind]string{closeloop.CSAT: "Molto soddisfatto", closeloop.NPS: "Estremamente probabile", closeloop.CES: "Molto facile"},
	},
	"nl": {
		Lang:            "nl",
		TitleAnswered:   "Je hebt al geantwoord",
		DateLayout:      "02-01-2006",
		SurveySubject:   "Hoe deden we het? (%s)",
		ReminderPrefix:  "Herinnering: ",
		Greeting:        "Hallo %s,",
		GreetingPlain:   "Hallo,",
		SolvedBy:        "Je verzoek „%s” is opgelost door %s.",
		SolvedPlain:     "Je verzoek „%s” is opgelost.",
		SolvedByAgent:   "Je verzoek is opgelost door %s.",
		SolvedUntitled:  "Je verzoek is opgelost.",
		OneClick:        "Kies een score: er opent een korte pagina waar je die bevestigt en een opmerking kunt toevoegen.",
		Unsubscribe:     "Geen feedbackmails meer van ons?",
		UnsubscribeLink: "Afmelden",
		PageTitle:       "Je feedback",
		CommentLabel:    "Wil je nog iets toevoegen? (optioneel)",
		Submit:          "Feedback versturen",
		ThanksTitle:     "Bedankt!",
		Thanks:          "Je feedback is opgeslagen. Hij gaat rechtstreeks naar het team dat je heeft geholpen.",
		ThanksLow:       "Het spijt ons dat we je hebben teleurgesteld. Iemand van het team leest elk antwoord zoals het jouwe en neemt contact met je op.",
		TitleGone:       "Deze enquête is gesloten",
		TitleUnknown:    "Link niet gevonden",
		TitleUnsub:      "Je bent afgemeld",
		ChangeUntil:     "Je kunt je antwoord via de link in de e-mail wijzigen tot %s.",
		Expired:         "Deze enquête is gesloten. Bedankt voor je interesse.",
		NotFound:        "Deze enquêtelink is niet geldig.",
		TooLong:         "Je antwoord is te lang. Maak de opmerking korter en probeer het opnieuw.",
		BadRating:       "Kies een score.",
		UnsubTitle:      "Afmelden",
		UnsubExplain:    "Je ontvangt op dit adres geen enquêtes of opvolging meer van ons.",
		UnsubButton:     "Afmelden",
		UnsubDone:       "Je bent afgemeld. We sturen je geen feedbackmails meer.",
		ClosingSubject:  "Jij zei, wij deden: %s",
		ClosingIntro:    "Een tijdje geleden schreef je ons:",
		ClosingChanged:  "We hebben geluisterd. Dit hebben we veranderd:",
		ClosingThanks:   "Bedankt dat je de tijd nam om het ons te vertellen. Het maakte verschil.",
		ClosingLink:     "Lees meer",
		AckSubject:      "We hebben je opmerking ontvangen",
		AckBody:         "Je opmerking is bij ons supportteam aangekomen en iemand gaat hem lezen. Bedankt: we schrijven je opnieuw zodra er daardoor iets verandert.",
		CheckInPick:     "Kies ja of nee.",
		FormUnreadable:  "Je antwoord kon niet worden gelezen. Stuur het opnieuw.",
		TryAgain:        "Er ging bij ons iets mis. Probeer het zo meteen opnieuw.",
		TitleTryAgain:   "Probeer het opnieuw",
		ReplySubject:    "Over je verzoek",
		CheckInSubject:  "Werkt alles nog? (%s)",
		CheckInAsk:      "We hebben je verzoek een tijdje geleden opgelost. Werkt alles nog?",
		CheckInYes:      "Ja, alles goed",
		CheckInNo:       "Nee, het is niet opgelost",
		CheckInThanks:   "Bedankt. Als er nog iets mis is, neemt iemand van het team contact met je op.",
		Question:        map[closeloop.Kind]string{closeloop.CSAT: "Hoe tevreden ben je over de hulp die je kreeg?", closeloop.NPS: "Hoe waarschijnlijk is het dat je ons aanbeveelt aan een vriend of collega?", closeloop.CES: "Hoe makkelijk was het om je probleem opgelost te krijgen?"},
		Low:             map[closeloop.Kind]string{closeloop.CSAT: "Zeer ontevreden", closeloop.NPS: "Helemaal niet waarschijnlijk", closeloop.CES: "Zeer moeilijk"},
		High:            map[closeloop.Kind]string{closeloop.CSAT: "Zeer tevreden", closeloop.NPS: "Zeer waarschijnlijk", closeloop.CES: "Zeer makkelijk"},
	},
	"ja": {
		Lang:            "ja",
		TitleAnswered:   "回答済みです",
		DateLayout:      "2006年1月2日",
		SurveySubject:   "対応はいかがでしたか？（%s）",
		ReminderPrefix:  "リマインダー：",
		Greeting:        "%s 様",
		GreetingPlain:   "お客様",
		SolvedBy:        "お問い合わせ「%s」は %s が解決しました。",
		SolvedPlain:     "お問い合わせ「%s」は解決しました。",
		SolvedByAgent:   "お問い合わせは %s が解決しました。",
		SolvedUntitled:  "お問い合わせは解決しました。",
		OneClick:        "評価を選ぶと短いページが開き、確認とコメントの追加ができます。",
		Unsubscribe:     "アンケートメールが不要な場合は",
		UnsubscribeLink: "配信停止",
		PageTitle:       "ご意見",
		CommentLabel:    "ほかにご意見があればお書きください（任意）",
		Submit:          "送信する",
		ThanksTitle:     "ありがとうございました",
		Thanks:          "ご意見を受け付けました。対応したチームに直接届きます。",
		ThanksLow:       "ご期待に沿えず申し訳ありません。チームの担当者がこのようなご回答をすべて読み、ご連絡いたします。",
		TitleGone:       "このアンケートは終了しました",
		TitleUnknown:    "リンクが見つかりません",
		TitleUnsub:      "配信を停止しました",
		ChangeUntil:     "%s まではメールのリンクから回答を変更できます。",
		Expired:         "このアンケートは終了しました。ご関心をお寄せいただきありがとうございます。",
		NotFound:        "このアンケートのリンクは無効です。",
		TooLong:         "回答が長すぎます。コメントを短くしてもう一度お試しください。",
		BadRating:       "評価を選んでください。",
		UnsubTitle:      "配信停止",
		UnsubExplain:    "このアドレスにはアンケートやフォローアップをお送りしなくなります。",
		UnsubButton:     "配信を停止する",
		UnsubDone:       "配信を停止しました。今後アンケートメールはお送りしません。",
		ClosingSubject:  "いただいたご意見を受けて：%s",
		ClosingIntro:    "以前、次のようなご意見をいただきました：",
		ClosingChanged:  "ご意見を受けて、次のように改善しました：",
		ClosingThanks:   "お時間を割いてお知らせいただき、ありがとうございました。おかげで改善できました。",
		ClosingLink:     "詳しく見る",
		AckSubject:      "コメントを受け付けました",
		AckBody:         "お寄せいただいたコメントはサポートチームに届き、担当者が拝読します。ありがとうございます。これを受けて何かが変わったら、改めてご連絡します。",
		CheckInPick:     "「はい」か「いいえ」を選んでください。",
		FormUnreadable:  "回答を読み取れませんでした。もう一度送信してください。",
		TryAgain:        "こちらで問題が発生しました。しばらくしてからもう一度お試しください。",
		TitleTryAgain:   "もう一度お試しください",
		ReplySubject:    "お問い合わせについて",
		CheckInSubject:  "その後、問題なくお使いいただけていますか？（%s）",
		CheckInAsk:      "少し前にお問い合わせを解決しました。その後、問題なくお使いいただけていますか？",
		CheckInYes:      "はい、問題ありません",
		CheckInNo:       "いいえ、解決していません",
		CheckInThanks:   "ありがとうございます。まだ問題がある場合は、チームの担当者からご連絡します。",
		Question:        map[closeloop.Kind]string{closeloop.CSAT: "今回のサポートにどの程度満足されましたか？", closeloop.NPS: "当社を友人や同僚に勧める可能性はどのくらいですか？", closeloop.CES: "問題の解決はどのくらい簡単でしたか？"},
		Low:             map[closeloop.Kind]string{closeloop.CSAT: "とても不満", closeloop.NPS: "まったく勧めない", closeloop.CES: "とても難しい"},
		High:            map[closeloop.Kind]string{closeloop.CSAT: "とても満足", closeloop.NPS: "ぜひ勧めたい", closeloop.CES: "とても簡単"},
	},
}
