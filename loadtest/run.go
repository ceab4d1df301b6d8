package loadtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"
)

// Limits keep a mistyped command from flooding the machine.
const (
	MaxCalls    = 5000
	MaxDuration = time.Hour
)

// Config describes one load run.
type Config struct {
	Server    *net.UDPAddr  // the server's SIP address (UDP); must be loopback
	Number    string        // the room's phone number
	PIN       string        // the room's PIN ("" when the number needs none)
	Calls     int           // phone callers, 1..MaxCalls
	Rate      float64       // new calls per second (default 20)
	Duration  time.Duration // measured window once everyone is in (default 30 s)
	JoinWait  time.Duration // after the PIN, before a caller counts as in (default 2 s)
	Signal    string        // what listeners send: noise (default), speech or tone
	Codec     string        // what the callers offer: pcmu (default) or g722 (wideband)
	ServerPID int           // for CPU and memory from /proc; 0 = none
	Jitter    time.Duration // emulated network jitter: each packet to the server waits 0..Jitter
	// Markers is the marker clock shared with a WebRTC run (NewMarkers),
	// which then reports every delay direction; nil = the run's own, and
	// its report gives phone->phone.
	Markers *Markers
	Log     *slog.Logger

	ownMarkers bool
}

func (c *Config) check() error {
	if c.Server == nil || !c.Server.IP.IsLoopback() {
		return errors.New("loadtest: the server address must be loopback (127.0.0.0/8 or ::1)")
	}
	if c.Calls < 1 || c.Calls > MaxCalls {
		return fmt.Errorf("loadtest: calls %d: want 1..%d", c.Calls, MaxCalls)
	}
	if c.Duration == 0 {
		c.Duration = 30 * time.Second
	}
	if c.Duration < 0 || c.Duration > MaxDuration {
		return fmt.Errorf("loadtest: duration %v: want up to %v", c.Duration, MaxDuration)
	}
	if c.Jitter < 0 || c.Jitter > time.Second {
		return fmt.Errorf("loadtest: jitter %v: want 0 to 1s", c.Jitter)
	}
	if c.Rate <= 0 {
		c.Rate = 20
	}
	if c.JoinWait <= 0 {
		c.JoinWait = 2 * time.Second
	}
	switch c.Signal {
	case "":
		c.Signal = "noise"
	case "noise", "speech", "tone":
	default:
		return fmt.Errorf("loadtest: signal %q: want noise, speech or tone", c.Signal)
	}
	switch c.Codec {
	case "":
		c.Codec = CodecPCMU
	case CodecPCMU, CodecG722:
	default:
		return fmt.Errorf("loadtest: codec %q: want pcmu or g722", c.Codec)
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Markers == nil {
		c.Markers, c.ownMarkers = NewMarkers(), true
	}
	return nil
}

// Run places the calls, measures for cfg.Duration once everyone is in, hangs
// up and reports. It stops early, with what it measured, when ctx ends.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	ep, err := newEndpoint(cfg.Server)
	if err != nil {
		return nil, err
	}
	defer ep.Close()
	rep := &Report{Config: cfg}
	if cfg.ServerPID > 0 {
		s, err := readProc(cfg.ServerPID)
		if err != nil {
			return nil, err
		}
		rep.procIdle = s
	}
	p := newPacer(cfg.Jitter, cfg.Markers)
	defer p.stop()
	calls := dialAll(ctx, cfg, ep, p, rep)
	defer hangUpAll(calls)
	if len(calls) == 0 {
		return rep, errors.New("loadtest: no call was answered")
	}
	if !waitJoined(ctx, calls, cfg.JoinWait) {
		return rep, ctx.Err()
	}
	measure(ctx, cfg, calls, p, rep)
	return rep, nil
}

// dialAll places cfg.Calls calls at cfg.Rate and returns the answered ones.
func dialAll(ctx context.Context, cfg Config, ep *endpoint, p *pacer, rep *Report) []*caller {
	var calls []*caller
	startPaced(ctx, cfg.Calls, cfg.Rate, func(i int) (*caller, error) { return dialOne(ctx, cfg, ep, i) },
		func(c *caller, err error) {
			if err != nil {
				failed(&rep.Failed, &rep.FirstError, err)
				return
			}
			rep.setups = append(rep.setups, c.setup)
			calls = append(calls, c)
			p.add(c)
		})
	return calls
}

func dialOne(ctx context.Context, cfg Config, ep *endpoint, i int) (*caller, error) {
	conn, rtcp, err := listenRTPPair()
	if err != nil {
		return nil, err
	}
	c := &caller{id: i, conn: conn, rtcp: rtcp, ssrc: 0x10AD0000 + uint32(i), done: make(chan struct{}), mk: cfg.Markers,
		src: source{kind: cfg.Signal, mouth: i == 0, rnd: uint32(i)*2654435761 + 1}}
	if err := c.setCodec(cfg.Codec); err != nil {
		conn.Close()
		rtcp.Close()
		return nil, err
	}
	go c.read()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	start := time.Now()
	dlg, err := ep.dial(dctx, cfg.Number, c.offer())
	if err != nil {
		c.close()
		return nil, fmt.Errorf("call %d: %w", i, err)
	}
	c.setup = time.Since(start)
	c.dlg = dlg
	if id := dlg.InviteRequest.CallID(); id != nil {
		ep.track(id.Value(), c)
	}
	if err := dlg.Ack(dctx); err != nil {
		c.close()
		return nil, fmt.Errorf("call %d: ack: %w", i, err)
	}
	if c.remote, c.eventPT, err = c.parseAnswer(dlg.InviteResponse.Body()); err != nil {
		_ = dlg.Bye(dctx)
		c.close()
		return nil, fmt.Errorf("call %d: %w", i, err)
	}
	if cfg.PIN != "" {
		c.keys = []byte(cfg.PIN + "#")
	} else {
		c.joinedAt.Store(time.Now().UnixNano())
	}
	return c, nil
}

// waitJoined waits until every caller has typed its PIN and joinWait passed.
func waitJoined(ctx context.Context, calls []*caller, joinWait time.Duration) bool {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		last := int64(0)
		all := true
		for _, c := range calls {
			j := c.joinedAt.Load()
			if j == 0 {
				all = false
				break
			}
			last = max(last, j)
		}
		if all && time.Since(time.Unix(0, last)) >= joinWait {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// measure runs the measured window: bursts on, statistics reset, /proc
// sampled at both ends.
func measure(ctx context.Context, cfg Config, calls []*caller, p *pacer, rep *Report) {
	for _, c := range calls {
		c.startMeasuring()
	}
	if cfg.ServerPID > 0 {
		rep.procStart, _ = readProc(cfg.ServerPID)
	}
	rep.selfStart, _ = readProc(os.Getpid())
	rep.start = time.Now()
	p.setBursts(true)
	select {
	case <-ctx.Done():
	case <-time.After(cfg.Duration):
	}
	p.setBursts(false)
	rep.end = time.Now()
	for _, c := range calls {
		c.stopMeasuring(rep.end)
	}
	rep.selfEnd, _ = readProc(os.Getpid())
	if cfg.ServerPID > 0 {
		rep.procEnd, _ = readProc(cfg.ServerPID)
	}
	rep.collect(calls)
}

// hangUpAll ends every call with BYE and closes the sockets.
func hangUpAll(calls []*caller) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	for _, c := range calls {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if !c.serverBye.Load() {
				_ = c.dlg.Bye(ctx)
			}
			c.close()
			c.free()
		}()
	}
	wg.Wait()
}
