package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
)

// PrivacyPage configures /privacy, the notice that tells participants
// what dialroom processes about them and who is responsible.
type PrivacyPage struct {
	// File is an HTML fragment written by the operator, shown instead of
	// the built-in text. "{lang}" in the path is replaced by de or en, so
	// there can be one file per language. It is read on every request: an
	// edit shows at once. "" means the built-in text.
	File string
	// RetentionDays is how long the audit log and PIN failure counts are
	// kept (named in the built-in text); 0 means 30.
	RetentionDays int
}

// maxPrivacyFile bounds the operator's fragment, in bytes.
const maxPrivacyFile = 256 << 10

// privacyLangs are the languages of the built-in text; the first is the
// default for a browser that asks for neither.
var privacyLangs = []string{"en", "de"}

// privacyTemplate is the page around the notice. Only /static/ resources,
// nothing inline, so that it works under the strict CSP.
var privacyTemplate = template.Must(template.New("privacy").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · dialroom</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body class="start">
<main class="card privacy">
<nav class="note"><a href="/">dialroom</a> · <a href="/privacy?lang=de" lang="de">Deutsch</a> · <a href="/privacy?lang=en" lang="en">English</a></nav>
<h1>{{.Title}}</h1>
{{.Body}}
</main>
</body>
</html>
`))

// privacyDefault is the built-in notice per language. It describes what
// this program does with personal data; the operator adds who they are by
// replacing it (PrivacyPage.File).
var privacyDefault = map[string]*template.Template{
	"en": template.Must(template.New("en").Parse(`
<p>This meeting server runs dialroom. It is operated by the organisation that invited you; ask it
who is responsible for data protection and how to reach them.</p>
<h2>What is processed</h2>
<ul>
<li><strong>Your name</strong> as you enter it, shown to the other participants while you are in a meeting.</li>
<li><strong>Audio, video and screen sharing</strong> are relayed to the other participants of the same
meeting only. They are not recorded and not stored.</li>
<li><strong>Chat messages</strong> are kept in the server's memory while the meeting runs and are
gone when it ends.</li>
<li><strong>Phone callers</strong>: the calling number is shown to others only in masked form (such as
+49 30 ••• 456) and is not stored. Wrong PIN entries are counted per caller, under a salted
one-way hash that does not contain the number, to stop PIN guessing; the counts are deleted
after {{.Days}} days at the latest. The digits typed are never stored.</li>
<li><strong>Technical data</strong>: the IP address of your browser or telephone carrier is needed to
connect you. It is used to limit abusive request rates and is kept only in memory.</li>
<li><strong>Administrators and moderators</strong>: their changes to rooms and numbers and their
actions in meetings (such as muting or removing a participant) are written to an audit log
(who, what, when; numbers masked, no PINs, no call content), deleted after {{.Days}} days.</li>
<li><strong>Cookies</strong>: only a session cookie for signed-in users. No tracking, no analytics.</li>
</ul>
<h2>No third parties</h2>
<p>The pages load nothing from other servers, and the server passes nothing on to third parties.</p>
`)),
	"de": template.Must(template.New("de").Parse(`
<p>Dieser Konferenzserver läuft mit dialroom. Betrieben wird er von der Organisation, die Sie eingeladen
hat; dort erfahren Sie, wer für den Datenschutz verantwortlich ist und wie Sie ihn erreichen.</p>
<h2>Was verarbeitet wird</h2>
<ul>
<li><strong>Ihr Name</strong>, so wie Sie ihn eingeben; die anderen Teilnehmenden sehen ihn, solange Sie
in einer Besprechung sind.</li>
<li><strong>Ton, Bild und Bildschirmfreigabe</strong> werden nur an die Teilnehmenden derselben
Besprechung weitergeleitet, nicht aufgezeichnet und nicht gespeichert.</li>
<li><strong>Chatnachrichten</strong> liegen nur während der Besprechung im Arbeitsspeicher des Servers und
sind mit ihrem Ende gelöscht.</li>
<li><strong>Telefonteilnehmende</strong>: Die Rufnummer wird anderen nur gekürzt angezeigt (etwa
+49 30 ••• 456) und nicht gespeichert. Falsche PIN-Eingaben werden je Anrufer gezählt, unter
einem gesalzenen Einweg-Hash ohne die Rufnummer, um das Erraten von PINs zu verhindern; die
Zählung wird spätestens nach {{.Days}} Tagen gelöscht. Die eingegebenen Ziffern werden nie gespeichert.</li>
<li><strong>Technische Daten</strong>: Die IP-Adresse Ihres Browsers oder Telefonanbieters ist für die
Verbindung nötig. Sie dient dazu, missbräuchliche Anfragen zu begrenzen, und liegt nur im
Arbeitsspeicher.</li>
<li><strong>Administration und Moderation</strong>: Änderungen an Räumen und Rufnummern und Eingriffe in
Besprechungen (etwa Stummschalten oder Entfernen) werden in einem Prüfprotokoll festgehalten
(wer, was, wann; Rufnummern gekürzt, keine PINs, keine Gesprächsinhalte) und nach {{.Days}} Tagen gelöscht.</li>
<li><strong>Cookies</strong>: nur ein Sitzungscookie für angemeldete Nutzer. Kein Tracking, keine Statistikdienste.</li>
</ul>
<h2>Keine Dritten</h2>
<p>Die Seiten laden nichts von anderen Servern, und der Server gibt nichts an Dritte weiter.</p>
`)),
}

var privacyTitles = map[string]string{"en": "Privacy", "de": "Datenschutz"}

// privacyHandler serves GET /privacy in the language asked for (?lang=,
// else the browser's Accept-Language).
func privacyHandler(cfg PrivacyPage, log *slog.Logger) http.Handler {
	days := cfg.RetentionDays
	if days <= 0 {
		days = 30
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := privacyLang(r)
		body, err := privacyBody(cfg.File, lang, days)
		if err != nil {
			log.Error("privacy page", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		var out bytes.Buffer
		if err := privacyTemplate.Execute(&out, struct {
			Lang, Title string
			Body        template.HTML
		}{lang, privacyTitles[lang], body}); err != nil {
			log.Error("privacy page", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Language", lang)
		w.Header().Set("Vary", "Accept-Language")
		_, _ = w.Write(out.Bytes())
	})
}

// privacyBody is the operator's fragment or the built-in text.
func privacyBody(file, lang string, days int) (template.HTML, error) {
	if file == "" {
		var b strings.Builder
		if err := privacyDefault[lang].Execute(&b, struct{ Days int }{days}); err != nil {
			return "", err
		}
		return template.HTML(b.String()), nil
	}
	path := strings.ReplaceAll(file, "{lang}", lang)
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("privacy page file: %w", err)
	}
	defer f.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(io.LimitReader(f, maxPrivacyFile+1)); err != nil {
		return "", fmt.Errorf("privacy page file %s: %w", path, err)
	}
	if b.Len() > maxPrivacyFile {
		return "", fmt.Errorf("privacy page file %s: larger than %d bytes", path, maxPrivacyFile)
	}
	// The operator's own HTML, trusted like the configuration file. The
	// CSP still refuses any inline script or style in it.
	return template.HTML(b.String()), nil
}

// privacyLang picks de or en: ?lang= first, then the first of the
// browser's Accept-Language entries that is one of them.
func privacyLang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "de" || l == "en" {
		return l
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		for _, l := range privacyLangs {
			if base == l {
				return l
			}
		}
	}
	return privacyLangs[0]
}
