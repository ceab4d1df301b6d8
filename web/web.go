package web

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"regexp"
	"strings"
	"time"

	"dialroom/auth"
	"dialroom/dialplan"
	"dialroom/sfu"
)

//go:embed static
var embedded embed.FS

// RoomLookup finds a configured room by its slug. Errors wrap
// dialplan.ErrNotFound when no room has that slug.
type RoomLookup interface {
	RoomBySlug(ctx context.Context, slug string) (dialplan.Room, error)
}

// Config configures the web handler.
type Config struct {
	StaticDir string // "" serves the embedded client; else the client is read from this directory (development)
	// ModSecret signs moderator links (see ModeratorToken); empty disables them.
	ModSecret []byte
	// Admin is changed by the admin API; with AdminTokenFile (the file
	// NewAdminToken writes) it enables /admin and /api/v1. Either unset
	// disables both.
	Admin          AdminStore
	AdminTokenFile string
	// AdminPasswordFile, when set, holds the console's user name and
	// password hash (SetAdminPassword) for the local login.
	AdminPasswordFile string
	// Trunks, when set, lists the SIP trunks in the admin console.
	Trunks TrunkLister
	// Directory checks the passwords of console and meeting logins
	// (/admin, /login); nil means the local admin in AdminPasswordFile.
	Directory Directory
	// OIDC, when set, adds single sign-on to the login pages.
	OIDC OIDCLogin
	// Privacy configures the privacy notice at /privacy (privacy.go).
	Privacy PrivacyPage
	// ShowNumbersToModerators sends phone callers' full numbers to the
	// moderators of their meeting (numbers.go); off, every browser gets
	// only the masked label.
	ShowNumbersToModerators bool
}

// lookupTimeout bounds one room lookup.
const lookupTimeout = 5 * time.Second

var slugPattern = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

type server struct {
	files fs.FS
	rooms RoomLookup
	sfu   *sfu.Manager
	log   *slog.Logger

	modSecret      []byte
	admin          AdminStore
	adminTokenFile string
	trunks         TrunkLister

	showNumbers bool // ShowNumbersToModerators

	dir      Directory
	oidc     OIDCLogin
	sessions sessions
	logins   loginLimiter
	lockout  userLockout
	pending  oidcPending
}

// New returns the handler for every route: GET / (start page), GET /join
// (start page form), GET /r/{slug} (room page), /static/ (client files) and
// GET /ws (signalling).
func New(cfg Config, rooms RoomLookup, mgr *sfu.Manager, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{rooms: rooms, sfu: mgr, log: log, modSecret: cfg.ModSecret,
		admin: cfg.Admin, adminTokenFile: cfg.AdminTokenFile, trunks: cfg.Trunks,
		dir: cfg.Directory, oidc: cfg.OIDC, showNumbers: cfg.ShowNumbersToModerators}
	if s.dir == nil && cfg.AdminPasswordFile != "" {
		s.dir = auth.LocalFile{Path: cfg.AdminPasswordFile, Log: log}
	}
	if cfg.StaticDir != "" {
		s.files = os.DirFS(cfg.StaticDir)
	} else {
		s.files, _ = fs.Sub(embedded, "static")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleStart)
	mux.HandleFunc("GET /join", s.handleJoinForm)
	mux.HandleFunc("GET /r/{slug}", s.handleRoom)
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticTypes(http.FileServerFS(s.files))))
	mux.HandleFunc("GET /ws", s.handleWS)
	mux.Handle("GET /privacy", privacyHandler(cfg.Privacy, log))
	s.routeAdmin(mux)
	s.routeLogin(mux)
	return s.protect(s.routeTokens(mux)) // security.go: headers and rate limits; admintoken_api.go: token scopes
}

// staticTypes fixes the Content-Type of the client's files (a host's
// mime.types may differ; module scripts must be JavaScript) and makes the
// browser revalidate them, since their names carry no version.
func staticTypes(next http.Handler) http.Handler {
	types := map[string]string{
		".js":   "text/javascript; charset=utf-8",
		".css":  "text/css; charset=utf-8",
		".html": "text/html; charset=utf-8",
		".svg":  "image/svg+xml",
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct, ok := types[path.Ext(r.URL.Path)]; ok {
			w.Header().Set("Content-Type", ct)
		}
		w.Header().Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

func (s *server) handleStart(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "start.html", nil)
}

// handleJoinForm turns the start page's room field into /r/{slug}.
func (s *server) handleJoinForm(w http.ResponseWriter, r *http.Request) {
	slug := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("room")))
	if !slugPattern.MatchString(slug) {
		s.render(w, http.StatusNotFound, "notfound.html", nil)
		return
	}
	http.Redirect(w, r, "/r/"+slug, http.StatusSeeOther)
}

// roomPage is what index.html renders; the client reads it from data attributes.
type roomPage struct {
	Slug string
	Name string
}

func (s *server) handleRoom(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("slug")
	room, err := s.lookup(r.Context(), slug)
	switch {
	case errors.Is(err, dialplan.ErrNotFound):
		s.render(w, http.StatusNotFound, "notfound.html", nil)
		return
	case err != nil:
		s.log.Error("room page: lookup", "room", slug, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	name := room.Name
	if name == "" {
		name = room.Slug
	}
	s.render(w, http.StatusOK, "index.html", roomPage{Slug: room.Slug, Name: name})
}

// lookup validates slug and finds its room; invalid slugs are not found.
func (s *server) lookup(ctx context.Context, slug string) (dialplan.Room, error) {
	if !slugPattern.MatchString(slug) {
		return dialplan.Room{}, dialplan.ErrNotFound
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	return s.rooms.RoomBySlug(ctx, slug)
}

// render executes the HTML template name from the client files.
func (s *server) render(w http.ResponseWriter, status int, name string, data any) {
	t, err := template.ParseFS(s.files, name)
	if err != nil {
		s.log.Error("template", "name", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := t.Execute(w, data); err != nil {
		s.log.Debug("template execute", "name", name, "err", err)
	}
}
