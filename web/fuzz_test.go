package web

import (
	"context"
	"log/slog"
	"testing"
)

// FuzzDispatch feeds arbitrary client messages to the handlers: none may
// panic, and each produces at most a bounded number of replies.
func FuzzDispatch(f *testing.F) {
	for _, s := range []string{
		`{"type":"join","room":"demo","name":"Ann"}`,
		`{"type":"join","room":"nope","name":"Ann"}`,
		`{"type":"answer","sdp":"v=0\r\n"}`,
		`{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0}}`,
		`{"type":"mute","muted":true}`,
		`{"type":"leave"}`,
		`{"type":"chat","text":"hi"}`, `{"type":"chat","to":"web-1","text":"psst"}`,
		`{"type":"hand","raised":true}`,
		`{"type":"moderate","action":"mute","target":"phone-1"}`, `{"type":"moderate","action":"end"}`,
		`{"type":"join","room":"demo","name":"Ann","mod":"x"}`,
		`{"type":"admit","id":"guest-1"}`, `{"type":"admit","all":true}`, `{"type":"admit"}`,
		`{"type":"deny","id":"guest-1"}`, `{"type":"deny","id":7}`,
		`{not json`, `null`, `[]`, `{"type":7}`,
	} {
		f.Add([]byte(s))
	}
	// Lookups never succeed here, so no fuzzed join reaches the SFU.
	s := &server{rooms: fakeRooms{}, log: slog.New(slog.DiscardHandler)}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &conn{s: s, log: s.log, send: make(chan []byte, wsSendQueue), quit: make(chan struct{}), ctx: context.Background()}
		_ = c.dispatch(data)
		if len(c.send) > 1 {
			t.Errorf("replies to one message: got %d, want at most 1", len(c.send))
		}
	})
}
