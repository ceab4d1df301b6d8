package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"dialroom/internal/testcert"
)

// TestNginxInFront runs deploy/nginx-dialroom.conf, the site documented in
// docs/deploy.md, with Debian's nginx on loopback in front of dialroom: the
// plain-HTTP port redirects to HTTPS, the room page and /readyz come through
// HTTPS, and the WebSocket signalling upgrades and answers a join.
func TestNginxInFront(t *testing.T) {
	needTools(t, "nginx")
	bin := needBinary(t)
	ctx := deadlineCtx(t, 60*time.Second)
	srv := startServerWith(t, bin, "http: {trusted_proxies: [127.0.0.1]}", nil, testRoom)
	if err := srv.waitReady(ctx); err != nil {
		t.Fatalf("dialroom not ready: %v", err)
	}
	httpPort, httpsPort := freeTCPPort(t), freeTCPPort(t)
	startNginx(t, srv.httpAddr, httpPort, httpsPort)
	base := "https://127.0.0.1:" + itoa(httpsPort)
	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	waitNginx(ctx, t, client, base+"/healthz")

	resp, err := client.Get("http://127.0.0.1:" + itoa(httpPort) + "/r/e2e")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 308 || loc != "https://127.0.0.1/r/e2e" {
		t.Errorf("plain HTTP: got %d %q, want 308 https://127.0.0.1/r/e2e", resp.StatusCode, loc)
	}
	for path, want := range map[string]string{"/r/e2e": "E2E", "/readyz": `"ready"`} {
		code, body := get(t, client, base+path)
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s through nginx: got %d %.80q, want 200 containing %q", path, code, body, want)
		}
	}
	checkWebSocketJoin(ctx, t, strings.Replace(base, "https", "wss", 1)+"/ws", base)
}

// checkWebSocketJoin opens the signalling WebSocket through nginx and
// expects a "joined" answer to a join.
func checkWebSocketJoin(ctx context.Context, t *testing.T, wsURL, origin string) {
	t.Helper()
	d := websocket.Dialer{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, HandshakeTimeout: 10 * time.Second}
	ws, resp, err := d.DialContext(ctx, wsURL, http.Header{"Origin": {origin}})
	if err != nil {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		t.Fatalf("WebSocket through nginx: %v (HTTP %d)", err, code)
	}
	defer ws.Close()
	if err := ws.WriteJSON(map[string]string{"type": "join", "room": testRoom.slug, "name": "Via nginx"}); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var msg struct {
			Type string `json:"type"`
		}
		if err := ws.ReadJSON(&msg); err != nil {
			t.Fatalf("WebSocket through nginx: no joined message: %v", err)
		}
		if msg.Type == "joined" {
			return
		}
	}
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitNginx polls url until nginx answers 200.
func waitNginx(ctx context.Context, t *testing.T, c *http.Client, url string) {
	t.Helper()
	err := poll(ctx, 100*time.Millisecond, func() error {
		resp, err := c.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("got %d", resp.StatusCode)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("nginx not answering: %v", err)
	}
}

// startNginx runs nginx in the foreground with the documented site, its
// ports, host name and certificate replaced for loopback.
func startNginx(t *testing.T, upstream string, httpPort, httpsPort int) {
	t.Helper()
	dir := t.TempDir()
	cert, key := writeSelfSigned(t, dir)
	site, err := os.ReadFile("../deploy/nginx-dialroom.conf")
	if err != nil {
		t.Fatal(err)
	}
	conf := string(site)
	for _, r := range [][2]string{
		{"listen [::]:80;\n", ""},
		{"listen [::]:443 ssl http2;\n", ""},
		{"listen 80;", "listen 127.0.0.1:" + itoa(httpPort) + ";"},
		{"listen 443 ssl http2;", "listen 127.0.0.1:" + itoa(httpsPort) + " ssl http2;"},
		{"/etc/letsencrypt/live/meet.example.org/fullchain.pem", cert},
		{"/etc/letsencrypt/live/meet.example.org/privkey.pem", key},
		{"http://127.0.0.1:8080", "http://" + upstream},
	} {
		if !strings.Contains(conf, r[0]) {
			t.Fatalf("deploy/nginx-dialroom.conf no longer contains %q: update this test", r[0])
		}
		conf = strings.ReplaceAll(conf, r[0], r[1])
	}
	main := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 64; }
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/site.conf;
}
`, dir)
	for name, text := range map[string]string{"site.conf": conf, "nginx.conf": main} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("nginx", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s\nnginx error.log:\n%s", out.String(), tail(string(log), 40))
		}
	})
}

// writeSelfSigned writes a self-signed certificate for 127.0.0.1.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	return testcert.Write(t, dir, "127.0.0.1")
}

// TestDeployDocShowsTestedNginxSite keeps docs/deploy.md's nginx example
// identical to the file TestNginxInFront runs.
func TestDeployDocShowsTestedNginxSite(t *testing.T) {
	site, err := os.ReadFile("../deploy/nginx-dialroom.conf")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```nginx\n"+string(site)+"```") {
		t.Errorf("docs/deploy.md does not show deploy/nginx-dialroom.conf verbatim in an nginx code block")
	}
}
