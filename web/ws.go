package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"dialroom/sfu"
)

const (
	wsReadLimit    = 64 << 10         // bytes per message; an SDP offer is a few KiB
	wsSendQueue    = 64               // messages queued per client before it counts as stuck
	wsWriteTimeout = 10 * time.Second // per message
	wsPongTimeout  = 60 * time.Second // a client silent this long is gone
	wsPingInterval = 25 * time.Second
)

// conn is one browser's signalling connection. The HTTP handler goroutine
// reads; one writer goroutine writes from a bounded queue.
type conn struct {
	s    *server
	ws   *websocket.Conn
	log  *slog.Logger
	send chan []byte
	quit chan struct{} // closed when the connection must end
	once sync.Once
	ctx  context.Context // the upgrade request's context
	// sessionID is the session cookie sent with the upgrade ("" when not
	// signed in); a signed-in moderator or admin joins as a moderator.
	sessionID string

	// Only the reader goroutine touches these.
	peer *sfu.Peer
	room string
	// lobbyID is the connection's entry in the lobby of lobbyRoom while
	// it waits there or is admitted but not yet joined (lobby.go).
	lobbyID, lobbyRoom string
	// selfID is the participant ID once joined; read by the room's
	// goroutines that deliver rosters (numbers.go).
	selfID atomic.Value // string
}

// checkOrigin accepts only pages served by this host.
func checkOrigin(r *http.Request) bool {
	u, err := url.Parse(r.Header.Get("Origin"))
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

func (s *server) handleWS(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{CheckOrigin: checkOrigin}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		s.log.Debug("websocket upgrade", "err", err)
		return
	}
	c := &conn{s: s, ws: ws, log: s.log, send: make(chan []byte, wsSendQueue), quit: make(chan struct{}), ctx: r.Context()}
	if ck, err := r.Cookie(adminCookie); err == nil {
		c.sessionID = ck.Value
	}
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		c.writer()
	}()
	err = c.reader()
	if c.peer != nil {
		c.peer.Leave()
	}
	c.leaveLobby()
	c.stop()
	<-wrote
	_ = ws.Close()
	c.log.Debug("websocket closed", "err", err)
}

// stop ends the connection; it is idempotent.
func (c *conn) stop() { c.once.Do(func() { close(c.quit) }) }

// reader handles messages until the client goes away or misbehaves badly.
func (c *conn) reader() error {
	c.ws.SetReadLimit(wsReadLimit)
	_ = c.ws.SetReadDeadline(time.Now().Add(wsPongTimeout))
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(wsPongTimeout))
	})
	for {
		kind, data, err := c.ws.ReadMessage()
		if err != nil {
			return err
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(wsPongTimeout))
		if kind != websocket.TextMessage {
			c.sendError(codeBadMessage, "text messages only")
			continue
		}
		if err := c.route(data); errors.Is(err, errLeave) {
			return nil
		}
		select {
		case <-c.quit:
			return errors.New("connection stopped")
		default:
		}
	}
}

// writer sends queued messages and pings until the connection stops.
func (c *conn) writer() {
	ping := time.NewTicker(wsPingInterval)
	defer ping.Stop()
	for {
		select {
		case msg := <-c.send:
			if msg == nil { // closeAfterQueue
				_ = c.ws.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
				c.fail()
				return
			}
			_ = c.ws.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
			if err := c.ws.WriteMessage(websocket.TextMessage, msg); err != nil {
				c.fail()
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(wsWriteTimeout)); err != nil {
				c.fail()
				return
			}
		case <-c.quit:
			_ = c.ws.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			return
		}
	}
}

// fail stops the connection and unblocks the reader.
func (c *conn) fail() {
	c.stop()
	_ = c.ws.SetReadDeadline(time.Now())
}

// enqueue queues v for the writer. A client whose queue is full is stuck:
// when must is set the connection ends (it would miss an offer or roster),
// else the message is dropped.
func (c *conn) enqueue(v any, must bool) {
	data, err := json.Marshal(v)
	if err != nil {
		c.log.Error("marshal message", "err", err)
		return
	}
	select {
	case <-c.quit:
	case c.send <- data:
	default:
		if must {
			c.log.Warn("signalling queue full; closing connection")
			c.fail()
		}
	}
}

// closeAfterQueue closes the connection once the messages queued so far are
// written.
func (c *conn) closeAfterQueue() {
	select {
	case <-c.quit:
	case c.send <- nil:
	default:
		c.fail()
	}
}

func (c *conn) sendError(code, msg string) {
	c.enqueue(errorMsg{Type: "error", Code: code, Message: msg}, false)
}

// Offer implements sfu.Signaller.
func (c *conn) Offer(sdp string) {
	m := offerMsg{Type: "offer", SDP: sdp}
	for _, s := range c.s.sfu.ICEServers() {
		cred, _ := s.Credential.(string)
		m.ICEServers = append(m.ICEServers, iceServer{URLs: s.URLs, Username: s.Username, Credential: cred})
	}
	c.enqueue(m, true)
}

// Roster implements sfu.Signaller.
func (c *conn) Roster(r sfu.Roster) {
	c.enqueue(rosterMsg{Type: "roster", Rev: r.Rev, Participants: c.participantsFor(r.Participants), Locked: r.Locked}, true)
}

// Speaking implements sfu.Signaller.
func (c *conn) Speaking(id string, speaking bool) {
	c.enqueue(speakingMsg{Type: "speaking", ID: id, Speaking: speaking}, false)
}

func (c *conn) handleRestartICE(data []byte) error {
	var m restartICEMsg
	if !c.decode(data, &m) || !c.joined() {
		return nil
	}
	if err := c.peer.RestartICE(); err != nil {
		c.log.Debug("ice restart not started", "err", err)
	}
	return nil
}
