package main

import (
	"encoding/hex"
	"log/slog"
	"path/filepath"
	"strconv"

	"dialroom/config"
	"dialroom/sfu"
	"dialroom/web"
)

// turnKeyFile holds the embedded TURN server's shared secret; created on first start.
const turnKeyFile = "turn.key"

// openTransport opens the shared ICE sockets (webrtc.udp_port, tcp_port)
// and the TURN server of cfg.WebRTC.
func openTransport(cfg config.Config, log *slog.Logger) (*sfu.Transport, error) {
	w := cfg.WebRTC
	tc := sfu.TransportConfig{ICEIPs: w.ICEIPs, ICEInterfaces: w.ICEInterfaces, PublicIP: w.PublicIP, BatchIO: w.BatchIO}
	if w.UDPPort != 0 {
		tc.UDPListen = ":" + strconv.Itoa(w.UDPPort)
	}
	if w.TCPPort != 0 {
		tc.TCPListen = ":" + strconv.Itoa(w.TCPPort)
	}
	t := w.TURN
	switch {
	case t.Enabled:
		secret, err := web.LoadOrCreateSecret(filepath.Join(cfg.DataDir, turnKeyFile))
		if err != nil {
			return nil, err
		}
		tc.TURN = sfu.TURNConfig{Listen: t.Listen, Realm: t.Realm, PublicIP: w.TURNPublicIP(),
			RelayPortMin: uint16(t.RelayPortMin), RelayPortMax: uint16(t.RelayPortMax),
			Secret: hex.EncodeToString(secret), TTL: t.CredentialTTL}
	case len(t.URLs) > 0:
		tc.TURN = sfu.TURNConfig{URLs: t.URLs, Secret: t.Secret, TTL: t.CredentialTTL}
	}
	return sfu.NewTransport(tc, log)
}

// iceAddrs describes the shared ICE sockets for the startup log.
func iceAddrs(t *sfu.Transport) []string {
	var out []string
	for _, a := range t.UDPAddrs() {
		out = append(out, "udp "+a.String())
	}
	if a := t.TCPAddr(); a != nil {
		out = append(out, "tcp "+a.String())
	}
	return out
}
