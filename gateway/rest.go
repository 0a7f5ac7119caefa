package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// restEscapedPath hands vanguard the path as the client escaped it. vanguard splits a REST
// path on "/" and unescapes each captured segment itself, as google.api.http specifies (a
// one-segment variable may hold "/" sent as %2F: GET /v1/ipcEntries/G06F%2017%2F00); Go's
// server has already unescaped URL.Path, which would split such a value and unescape twice.
func restEscapedPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			r.URL.Path, r.URL.RawPath = r.URL.EscapedPath(), ""
		}
		next.ServeHTTP(w, r)
	})
}

// restEmptyBody: a POST, PUT or PATCH on a REST path without a body is the empty message,
// as grpc-gateway reads it. vanguard v0.4.0 sends no request message at all for a "*" body
// binding then, and the service answers UNIMPLEMENTED ("requires exactly one request message").
func restEmptyBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/") && r.ContentLength == 0 &&
			(r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch) {
			r.Body = io.NopCloser(strings.NewReader("{}"))
			r.ContentLength = 2
			r.Header.Set("Content-Type", "application/json")
		}
		next.ServeHTTP(w, r)
	})
}

// restCallerErrors: vanguard v0.4.0 answers a REST request it cannot turn into a call (a
// query key that is no field path, such as "" or "pageSize.x") with UNKNOWN, HTTP 500. Our
// services never answer UNKNOWN (the kit maps every failure to a code with ErrorInfo), so on
// the REST paths (/v1/…) that answer is the caller's mistake: INVALID_ARGUMENT, HTTP 400.
func restCallerErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v1/") {
			next.ServeHTTP(w, r)
			return
		}
		rw := &serverErrorWriter{ResponseWriter: w}
		next.ServeHTTP(rw, r)
		rw.finish()
	})
}

// serverErrorWriter holds back a 500 answer's body to look at its google.rpc.Status code.
type serverErrorWriter struct {
	http.ResponseWriter
	held bool
	body bytes.Buffer
}

func (w *serverErrorWriter) WriteHeader(code int) {
	if code == http.StatusInternalServerError {
		w.held = true
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *serverErrorWriter) Write(data []byte) (int, error) {
	if w.held {
		return w.body.Write(data)
	}
	return w.ResponseWriter.Write(data)
}

func (w *serverErrorWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok && !w.held {
		f.Flush()
	}
}

func (w *serverErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *serverErrorWriter) finish() {
	if !w.held {
		return
	}
	var status map[string]any
	if json.Unmarshal(w.body.Bytes(), &status) == nil && status["code"] == float64(2) {
		status["code"] = 3 // INVALID_ARGUMENT
		if fixed, err := json.Marshal(status); err == nil {
			w.Header().Del("Content-Length")
			w.ResponseWriter.WriteHeader(http.StatusBadRequest)
			_, _ = w.ResponseWriter.Write(fixed)
			return
		}
	}
	w.ResponseWriter.WriteHeader(http.StatusInternalServerError)
	_, _ = w.ResponseWriter.Write(w.body.Bytes())
}
