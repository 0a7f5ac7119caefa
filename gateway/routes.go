package main

import (
	"net/http"
	"slices"

	connectcors "connectrpc.com/cors"
	"github.com/rs/cors"
)

// routes: the node's documents and files on fixed paths, every other path to the transcoder
// (REST bindings, /package.Service/Method for gRPC-Web and Connect), all behind CORS.
func routes(c config, transcoder http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	if c.openapi != "" {
		mux.HandleFunc("GET /openapi.yaml", serveFile(c.openapi, "application/yaml; charset=utf-8"))
	}
	if c.reference != "" {
		mux.HandleFunc("GET /reference", serveFile(c.reference, "text/html; charset=utf-8"))
	}
	if c.portal != "" {
		mux.Handle("GET /portal/", http.StripPrefix("/portal/", http.FileServer(http.Dir(c.portal))))
	}
	mux.Handle("/", restEscapedPath(restEmptyBody(restCallerErrors(transcoder))))
	if len(c.corsOrigins) == 0 {
		return mux
	}
	return cors.New(cors.Options{
		AllowedOrigins: c.corsOrigins,
		AllowedMethods: slices.Concat(connectcors.AllowedMethods(), []string{
			http.MethodPut, http.MethodPatch, http.MethodDelete,
		}),
		AllowedHeaders: slices.Concat(connectcors.AllowedHeaders(), []string{"Authorization"}),
		ExposedHeaders: connectcors.ExposedHeaders(),
		MaxAge:         7200,
	}).Handler(mux)
}

func serveFile(path, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		http.ServeFile(w, r, path)
	}
}
