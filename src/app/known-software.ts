/**
 * Well-known HTTP clients and servers, recognised by their User-Agent /
 * Server header, with their default idle (keep-alive) timeout and the
 * setting that changes it. The report names these and nothing beyond them:
 * software not in this table gets the generic advice (which side's timeout
 * must be shorter than which). Every entry cites where its values come from.
 */

export interface KnownSoftware {
  /** Display name. */
  name: string;
  side: 'client' | 'server';
  /** Matched against the header value (User-Agent for clients, Server for servers); null: it sends none of its own, never named from the wire. */
  pattern: RegExp | null;
  /** Default idle timeout in seconds: a client keeps idle pooled connections this long, a server closes them after it; null = no limit by default. */
  defaultIdleS: number | null;
  /** How the default behaves, in a few words. */
  defaultText: string;
  /** The setting that changes it (and, for clients, the check before reuse). */
  setting: string;
}

export const KNOWN_SOFTWARE: readonly KnownSoftware[] = [
  // Apache HttpClient 4.5: PoolingHttpClientConnectionManager evicts nothing
  // by itself; HttpClientBuilder.evictIdleConnections(maxIdleTime, unit)
  // starts an evictor thread; setValidateAfterInactivity (default 2000 ms in
  // 4.5.x) checks a connection idle longer than that before it is leased.
  // Source: hc.apache.org PoolingHttpClientConnectionManager javadoc (4.5.x)
  // and HTTPCLIENT-2118 ("the default value in 4.5.x according to its source
  // code" is 2000 ms), https://www.mail-archive.com/dev@hc.apache.org/msg27536.html
  {
    name: 'Apache HttpClient',
    side: 'client',
    pattern: /^Apache-HttpClient\//,
    defaultIdleS: null,
    defaultText: 'keeps idle pooled connections with no time limit (no idle eviction unless configured)',
    setting:
      'HttpClientBuilder.evictIdleConnections(N, TimeUnit.SECONDS) with N below the server timeout (and evictExpiredConnections()); ' +
      'PoolingHttpClientConnectionManager.setValidateAfterInactivity(ms) checks an idle connection before reuse',
  },
  // OkHttp: the default ConnectionPool keeps at most 5 idle connections for 5 minutes.
  // Source: https://square.github.io/okhttp/2.x/okhttp/com/squareup/okhttp/ConnectionPool.html
  // ("Default is 5 minutes"); OkHttp 3+: ConnectionPool() = ConnectionPool(5, 5, TimeUnit.MINUTES).
  {
    name: 'OkHttp',
    side: 'client',
    pattern: /^okhttp\//i,
    defaultIdleS: 300,
    defaultText: 'ConnectionPool keeps idle connections 5 minutes',
    setting: 'OkHttpClient.Builder().connectionPool(ConnectionPool(maxIdle, N, TimeUnit.SECONDS)) with N below the server timeout',
  },
  // Go net/http: DefaultTransport has IdleConnTimeout: 90 * time.Second (transport.go).
  // Source: https://coinbase.github.io/cdp-sdk/go/use/net/http..Transport.IdleConnTimeout.html ("transport.go#L52: IdleConnTimeout: 90 * time.Second").
  {
    name: 'Go net/http',
    side: 'client',
    pattern: /^Go-http-client\//,
    defaultIdleS: 90,
    defaultText: 'DefaultTransport keeps idle connections 90 s',
    setting: 'http.Transport{IdleConnTimeout: N * time.Second} with N below the server timeout',
  },
  // Node.js http.Agent: keepAlive is off by default for new Agent(); the
  // globalAgent (Node 19+) has keepAlive on and a 5 s socket timeout. Node's
  // http client sends no User-Agent of its own, so it is never named from the
  // wire (the entry documents the setting).
  // Source: https://nodejs.cn/api/http/http_globalagent.html ("keepAlive enabled and a timeout of 5 seconds"),
  // https://github.com/nodejs/node/issues/48821 (globalAgent: new Agent({ keepAlive: true, scheduling: 'lifo', timeout: 5000 }))
  {
    name: 'Node.js http.Agent',
    side: 'client',
    pattern: null,
    defaultIdleS: 5,
    defaultText: 'globalAgent: keepAlive with a 5 s socket timeout; new Agent({ keepAlive: true }) keeps idle sockets until timeout',
    setting: 'new http.Agent({ keepAlive: true, timeout: ms }) with the timeout below the server’s keep-alive timeout',
  },
  // Node.js undici (fetch): keepAliveTimeout default 4e3 ms, lowered to the
  // server's Keep-Alive: timeout hint minus keepAliveTimeoutThreshold.
  // Source: undici Client docs, https://socket.dev/npm/package/undici/diff/6.14.1
  {
    name: 'undici (Node.js fetch)',
    side: 'client',
    pattern: /^(undici|node)(\/|$)/,
    defaultIdleS: 4,
    defaultText: 'keeps idle connections 4 s (less when the server sends Keep-Alive: timeout)',
    setting: 'new undici.Agent({ keepAliveTimeout: ms }) (and keepAliveTimeoutThreshold) below the server timeout',
  },
  // urllib3 / requests: pooled connections have no idle limit; before reuse
  // urllib3 checks whether the socket was dropped (is_connection_dropped),
  // which catches a FIN that has arrived but not one in flight.
  // Source: urllib3 connectionpool.py _get_conn ("If this is a persistent
  // connection, check if it got disconnected"), https://gist.github.com/slingamn/3369110
  {
    name: 'python-requests / urllib3',
    side: 'client',
    pattern: /^(python-requests|python-urllib3)\//,
    defaultIdleS: null,
    defaultText: 'keeps idle pooled connections with no time limit (checks for a closed socket before reuse)',
    setting: 'no idle-timeout setting: close the Session (or send Connection: close) when idle longer than the server timeout, and retry idempotent requests (urllib3 Retry)',
  },
  // Node.js http server: server.keepAliveTimeout default 5000 ms (Node 8-24;
  // 65000 ms in newer releases, nodejs/node PR #62782).
  // Source: https://nodejs.cn/api/v20/https/server_keepalivetimeout.html, https://github.com/nodejs/node/commit/e470c74a6c
  {
    name: 'Node.js http server',
    side: 'server',
    pattern: /^(Node\.js|node)(\/|$)/i,
    defaultIdleS: 5,
    defaultText: 'default server.keepAliveTimeout 5 s (Node 8-24; 65 s in newer releases; Node 20 closes about 1 s after it, as fixtures/keepalive-race shows)',
    setting: 'server.keepAliveTimeout (ms) above the clients\u2019 idle timeout',
  },
  // nginx: keepalive_timeout default 75s (http/server/location). Inside an
  // upstream block (nginx as a client of its backends) keepalive_timeout
  // default 60s (since 1.15.3).
  // Source: nginx ngx_http_core_module / ngx_http_upstream_module docs, quoted at
  // https://blog.csdn.net/weixin_40911543/article/details/87929302
  {
    name: 'nginx',
    side: 'server',
    pattern: /^nginx(\/|$)/,
    defaultIdleS: 75,
    defaultText: 'default keepalive_timeout 75s',
    setting: 'keepalive_timeout in the http/server block (as a proxy to backends: keepalive_timeout inside the upstream block, default 60s)',
  },
  // Tomcat HTTP connector: keepAliveTimeout defaults to connectionTimeout,
  // which defaults to 60000 ms; the server.xml shipped with Tomcat sets 20000.
  // Source: https://github.com/dogtagpki/tomcat/wiki/Configuring-HTTP-Connector (quoting tomcat.apache.org config/http.html)
  {
    name: 'Apache Tomcat',
    side: 'server',
    pattern: /^(Apache-Coyote|Apache Tomcat|Tomcat)/,
    defaultIdleS: 20,
    defaultText: 'default keepAliveTimeout = connectionTimeout, 20 s in the shipped server.xml (60 s attribute default)',
    setting: 'keepAliveTimeout on the <Connector> (ms)',
  },
  // AWS Elastic Load Balancing (ALB/CLB): idle timeout default 60 s, on both
  // client and target connections; AWS recommends the target's keep-alive
  // timeout be larger than the load balancer's.
  // Source: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-load-balancer-attributes.html
  {
    name: 'AWS load balancer',
    side: 'server',
    pattern: /^awselb(\/|$)/,
    defaultIdleS: 60,
    defaultText: 'default connection idle timeout 60 s',
    setting: 'the load balancer attribute idle_timeout.timeout_seconds (targets behind it: keep-alive timeout longer than it)',
  },
];

/** The table's entry for a header value on that side, or null. */
export function knownSoftware(side: 'client' | 'server', header: string | null): KnownSoftware | null {
  if (header === null) return null;
  for (const k of KNOWN_SOFTWARE) if (k.side === side && k.pattern !== null && k.pattern.test(header)) return k;
  return null;
}
