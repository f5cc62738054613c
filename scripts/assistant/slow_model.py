import http.server, socketserver, time, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get('content-length', 0)); self.rfile.read(n)
        time.sleep(30)
        body = json.dumps({"choices": [{"message": {"content": "late"}}]}).encode()
        try:
            self.send_response(200); self.send_header('content-type', 'application/json'); self.end_headers(); self.wfile.write(body)
        except Exception: pass
    def log_message(self, *a): pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
