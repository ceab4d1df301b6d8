package loadtest

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// endpoint is the SIP side shared by all callers: one UA on one UDP socket.
type endpoint struct {
	ua      *sipgo.UserAgent
	client  *sipgo.Client
	dialogs *sipgo.DialogClientCache
	conn    net.PacketConn
	server  *net.UDPAddr
	done    chan struct{}

	mu   sync.Mutex
	byes map[string]*caller // by Call-ID: who to tell about a server's BYE
}

func newEndpoint(server *net.UDPAddr) (*endpoint, error) {
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		return nil, fmt.Errorf("loadtest: sip ua: %w", err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("loadtest: sip socket: %w", err)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		conn.Close()
		ua.Close()
		return nil, fmt.Errorf("loadtest: sip server: %w", err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(port))
	if err != nil {
		conn.Close()
		ua.Close()
		return nil, fmt.Errorf("loadtest: sip client: %w", err)
	}
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "load", Host: "127.0.0.1", Port: port}}
	e := &endpoint{ua: ua, client: client, dialogs: sipgo.NewDialogClientCache(client, contact),
		conn: conn, server: server, done: make(chan struct{}), byes: map[string]*caller{}}
	srv.OnBye(e.onBye)
	go func() { defer close(e.done); _ = srv.ServeUDP(conn) }()
	return e, nil
}

func (e *endpoint) onBye(req *sip.Request, tx sip.ServerTransaction) {
	if err := e.dialogs.ReadBye(req, tx); err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "No dialog", nil))
		return
	}
	var c *caller
	if id := req.CallID(); id != nil {
		e.mu.Lock()
		c = e.byes[id.Value()]
		e.mu.Unlock()
	}
	if c != nil {
		c.serverBye.Store(true)
	}
}

// dial places one call with offer as SDP and waits for the answer.
func (e *endpoint) dial(ctx context.Context, number string, offer []byte) (*sipgo.DialogClientSession, error) {
	uri := sip.Uri{Scheme: "sip", User: number, Host: e.server.IP.String(), Port: e.server.Port}
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "load", Host: "127.0.0.1"}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	dlg, err := e.dialogs.Invite(ctx, uri, offer, from, sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		return nil, err
	}
	if err := dlg.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		return nil, err
	}
	return dlg, nil
}

func (e *endpoint) track(callID string, c *caller) {
	e.mu.Lock()
	e.byes[callID] = c
	e.mu.Unlock()
}

// Close stops the SIP side; idempotent enough for one owner (Run).
func (e *endpoint) Close() {
	e.conn.Close()
	e.ua.Close()
	<-e.done
}
