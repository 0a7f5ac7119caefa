// Command puhui-gateway serves one node's gRPC services as JSON/HTTP (google.api.http
// bindings), gRPC-Web and Connect, transcoded by connectrpc.com/vanguard from the project's
// descriptor set (services/kit/api_descriptors.binpb) to the services' gRPC ports. It also
// serves the node's OpenAPI 3 document, the rendered API reference and the portal's files.
//
//	puhui-gateway -listen 127.0.0.1:30060 -descriptors api_descriptors.binpb \
//	    -upstream puhui.catalog.v1.CatalogService=127.0.0.1:30062 ... \
//	    -cors-origin https://portal.example.cn -openapi openapi.yaml -reference index.html
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"connectrpc.com/vanguard"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	// Registers google.rpc.ErrorInfo, BadRequest, RetryInfo … so error details render as JSON.
	_ "google.golang.org/genproto/googleapis/rpc/errdetails"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type config struct {
	listen      string
	descriptors string
	upstreams   listFlag
	corsOrigins listFlag
	openapi     string
	reference   string
	portal      string
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("puhui-gateway", flag.ContinueOnError)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "host:port to serve HTTP/1.1 and h2c on")
	fs.StringVar(&c.descriptors, "descriptors", "", "FileDescriptorSet of the protos (with imports)")
	fs.Var(&c.upstreams, "upstream", "SERVICE=host:port: a gRPC service and where it runs (repeat)")
	fs.Var(&c.corsOrigins, "cors-origin", "an origin allowed by CORS (repeat; * for any; none: CORS off)")
	fs.StringVar(&c.openapi, "openapi", "", "OpenAPI 3 document served at /openapi.yaml")
	fs.StringVar(&c.reference, "reference", "", "rendered API reference served at /reference")
	fs.StringVar(&c.portal, "portal", "", "folder of static files served at /portal/")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.descriptors == "" || len(c.upstreams) == 0 {
		return c, errors.New("-descriptors and at least one -upstream are required")
	}
	return c, nil
}

// loadFiles reads a FileDescriptorSet into a registry of its own (not the global one).
func loadFiles(path string) (*protoregistry.Files, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return protodesc.NewFiles(&set)
}

// resolver finds message types in the linked-in registry first (google.rpc details,
// well-known types), then among the descriptor set's messages.
type resolver struct{ dynamic *dynamicpb.Types }

func (r resolver) FindMessageByName(n protoreflect.FullName) (protoreflect.MessageType, error) {
	if t, err := protoregistry.GlobalTypes.FindMessageByName(n); err == nil {
		return t, nil
	}
	return r.dynamic.FindMessageByName(n)
}

func (r resolver) FindMessageByURL(u string) (protoreflect.MessageType, error) {
	if t, err := protoregistry.GlobalTypes.FindMessageByURL(u); err == nil {
		return t, nil
	}
	return r.dynamic.FindMessageByURL(u)
}

func (r resolver) FindExtensionByName(n protoreflect.FullName) (protoreflect.ExtensionType, error) {
	return r.dynamic.FindExtensionByName(n)
}

func (r resolver) FindExtensionByNumber(m protoreflect.FullName, f protoreflect.FieldNumber) (protoreflect.ExtensionType, error) {
	return r.dynamic.FindExtensionByNumber(m, f)
}

// upstreamProxy forwards gRPC (HTTP/2 without TLS) to one service's address.
func upstreamProxy(addr string) http.Handler {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	transport := &http.Transport{
		Protocols:           &protocols,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}
	target := &url.URL{Scheme: "http", Host: addr}
	return &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport:     transport,
		FlushInterval: -1, // stream responses as they come (server-streaming export)
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			slog.Warn("upstream unreachable", "upstream", addr, "path", r.URL.Path, "error", err.Error())
			// A gRPC-shaped answer, so vanguard renders it in the client's protocol.
			w.Header().Set("Content-Type", "application/grpc")
			w.Header().Set("Grpc-Status", "14")
			w.Header().Set("Grpc-Message", "service unavailable")
			w.WriteHeader(http.StatusOK)
		},
	}
}

func newTranscoder(c config) (*vanguard.Transcoder, error) {
	files, err := loadFiles(c.descriptors)
	if err != nil {
		return nil, err
	}
	types := resolver{dynamic: dynamicpb.NewTypes(files)}
	var services []*vanguard.Service
	for _, u := range c.upstreams {
		name, addr, ok := strings.Cut(u, "=")
		if !ok {
			return nil, fmt.Errorf("-upstream %q: want SERVICE=host:port", u)
		}
		desc, err := files.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			return nil, fmt.Errorf("-upstream %q: %w", u, err)
		}
		svc, ok := desc.(protoreflect.ServiceDescriptor)
		if !ok {
			return nil, fmt.Errorf("-upstream %q: %s is not a service", u, name)
		}
		services = append(services, vanguard.NewServiceWithSchema(
			svc,
			upstreamProxy(addr),
			// grpcio speaks gRPC with the binary codec only; no compression on loopback.
			vanguard.WithTargetProtocols(vanguard.ProtocolGRPC),
			vanguard.WithTargetCodecs(vanguard.CodecProto),
			vanguard.WithNoTargetCompression(),
			vanguard.WithTypeResolver(types),
			// Unknown query parameters are ignored, as grpc-gateway does.
			vanguard.WithRESTUnmarshalOptions(vanguard.RESTUnmarshalOptions{DiscardUnknownQueryParams: true}),
		))
	}
	return vanguard.NewTranscoder(services, vanguard.WithCodec(newCallerJSON))
}

func main() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	c, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "puhui-gateway:", err)
		os.Exit(2)
	}
	transcoder, err := newTranscoder(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "puhui-gateway:", err)
		os.Exit(2)
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	server := &http.Server{
		Handler:           routes(c, transcoder),
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
	}
	listener, err := net.Listen("tcp", c.listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "puhui-gateway:", err)
		os.Exit(1)
	}
	slog.Info("serving", "address", listener.Addr().String(), "services", len(c.upstreams))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go stopWhenOrphaned(ctx, stop)
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdown)
	}()
	if err := server.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "puhui-gateway:", err)
		os.Exit(1)
	}
}

// stopWhenOrphaned stops the gateway when the process that started it is gone (it is then
// re-parented): a test or `puhui run` killed outright leaves no gateway behind.
func stopWhenOrphaned(ctx context.Context, stop context.CancelFunc) {
	parent := os.Getppid()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if os.Getppid() != parent {
				slog.Info("parent process gone; stopping")
				stop()
				return
			}
		}
	}
}
