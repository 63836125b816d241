// Command go-nethttp is rtbench's Go reference server: the standard library's net/http with
// Go 1.22 method routing, nothing else. Contract: ../README.md. Env: HOST, PORT, WORKERS
// (GOMAXPROCS), UPSTREAM_URL.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"time"
)

const serverName = "go-nethttp"

func main() {
	log.SetFlags(0)
	log.SetPrefix(serverName + ": ")
	host := os.Getenv("HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	port := envInt("PORT", 8082, 0, 65535)
	workers := envInt("WORKERS", 1, 1, 1024)
	upstream := os.Getenv("UPSTREAM_URL")
	if upstream != "" {
		if u, err := url.Parse(upstream); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			log.Fatalf("UPSTREAM_URL=%q is not an http(s) URL", upstream)
		}
	}
	runtime.GOMAXPROCS(workers)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /plaintext", plaintext)
	mux.HandleFunc("GET /json", jsonHello)
	mux.HandleFunc("GET /health", health)
	mux.HandleFunc("GET /sse", sse)
	mux.Handle("GET /sse-relay", &relay{upstream: upstream, client: newUpstreamClient()})
	// "/" matches every method and path the patterns above do not, so wrong methods get 404 too (not 405).
	mux.HandleFunc("/", http.NotFound)

	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		log.Fatalf("cannot listen on %s:%d: %v", host, port, err)
	}
	srv := &http.Server{Handler: withServerHeader(mux), ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("%s pid %d listening on %s (GOMAXPROCS %d, %s)\n", serverName, os.Getpid(), ln.Addr(), workers, runtime.Version())
	log.Fatal(srv.Serve(ln))
}

func envInt(name string, fallback, min, max int) int {
	raw := os.Getenv(name)
	if raw == "" {
		return fallback
	}
	v, err := strconv.Atoi(raw)
	if err != nil || v < min || v > max {
		log.Fatalf("%s=%q is not an integer in %d..=%d", name, raw, min, max)
	}
	return v
}

func withServerHeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", serverName)
		next.ServeHTTP(w, r)
	})
}

func plaintext(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "Hello, World!")
}

type message struct {
	Message string `json:"message"`
}

func jsonHello(w http.ResponseWriter, _ *http.Request) {
	body, err := json.Marshal(message{Message: "Hello, World!"})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

func health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "ok")
}

// queryInt reads an optional integer parameter; ok is false when it is present but not an integer in min..=max.
func queryInt(q url.Values, name string, fallback, min, max int) (int, bool) {
	if !q.Has(name) {
		return fallback, true
	}
	v, err := strconv.Atoi(q.Get(name))
	return v, err == nil && v >= min && v <= max
}

type event struct {
	Seq    int   `json:"seq"`
	SentNs int64 `json:"sent_ns"`
}

func startEventStream(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
}

func sse(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	events, okEvents := queryInt(q, "events", 10, 1, 100000)
	intervalMs, okInterval := queryInt(q, "interval_ms", 10, 0, 60000)
	if !okEvents || !okInterval {
		http.Error(w, "events must be in 1..=100000 and interval_ms in 0..=60000", http.StatusBadRequest)
		return
	}
	rc := http.NewResponseController(w)
	startEventStream(w)
	var tick <-chan time.Time
	if intervalMs > 0 {
		ticker := time.NewTicker(time.Duration(intervalMs) * time.Millisecond)
		defer ticker.Stop()
		tick = ticker.C
	}
	for seq := 1; seq <= events; seq++ {
		if seq > 1 && tick != nil {
			select {
			case <-tick:
			case <-r.Context().Done():
				return
			}
		}
		data, err := json.Marshal(event{Seq: seq, SentNs: time.Now().UnixNano()})
		if err != nil {
			return
		}
		if _, err := fmt.Fprintf(w, "id: %d\ndata: %s\n\n", seq, data); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

type relay struct {
	upstream string
	client   *http.Client
}

func newUpstreamClient() *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// The upstream is a fixed URL chosen by whoever launched the server; a proxy from the
	// environment would sit in the measured path.
	transport.Proxy = nil
	return &http.Client{Transport: transport}
}

func (h *relay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.upstream == "" {
		http.Error(w, "UPSTREAM_URL is not set", http.StatusServiceUnavailable)
		return
	}
	// r.Context() is cancelled when the client disconnects, which aborts the upstream request.
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, h.upstream, nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := h.client.Do(req)
	if err != nil {
		if !errors.Is(r.Context().Err(), context.Canceled) {
			http.Error(w, "upstream: "+err.Error(), http.StatusBadGateway)
		}
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		http.Error(w, "upstream answered "+resp.Status, http.StatusBadGateway)
		return
	}
	rc := http.NewResponseController(w)
	startEventStream(w)
	if rc.Flush() != nil {
		return
	}
	buf := make([]byte, 16<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
