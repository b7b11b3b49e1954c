/// The access-log shapes the generator can write, and which fields each one carries.
enum OutputFormat: String, CaseIterable, Sendable {
    /// NCSA common: `%h %l %u %t "%r" %>s %b`.
    case common
    /// NCSA combined: common + `"%{Referer}i" "%{User-Agent}i"`.
    case combined
    /// Combined + `"<uid cookie value>"` (`-` when the visitor has none).
    case combinedCookie = "combined_cookie"
    /// Combined + `"<uid cookie value>" "<X-Forwarded-For>"`.
    case combinedCookieXFF = "combined_cookie_xff"
    /// Apache `vhost_combined`: `%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"`.
    case vhostCombined = "vhost_combined"
    /// `common` after the virtual host and port: `%v:%p %h %l %u %t "%r" %>s %b`.
    case vhostCommon = "vhost_common"
    /// Caddy's JSON access log (`http.log.access`).
    case jsonCaddy = "json-caddy"
    /// nginx `log_format … escape=json` with string values.
    case jsonNginx = "json-nginx"
    /// Traefik's JSON access log (keys sorted, as Traefik writes them).
    case jsonTraefik = "json-traefik"
    /// Traefik's JSON access log with its default fields: request headers dropped
    /// (`accessLog.fields.headers.defaultMode: drop`), so no User-Agent and no Referer.
    case jsonTraefikDefault = "json-traefik-default"
    /// Cloudflare Logpush `http_requests` JSON lines: the fields veil reads and a `RayID`,
    /// keys sorted, the time in nanoseconds (`unixnano`, the default timestamp format).
    case jsonCloudflare = "json-cloudflare"
    /// IIS W3C extended log with `#Software`/`#Version`/`#Date`/`#Fields` directives.
    case w3c
    /// nginx `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
    /// "$http_referer" "$http_user_agent" "$cookie_uid"`.
    case nginxCustom = "nginx-custom"
    /// Traefik's default access log: combined, then ` <requests since start> "<router>"
    /// "<server URL>" <duration>ms`.
    case traefikCLF = "traefik_clf"
    /// AWS Application Load Balancer access log: `client:port` (IPv6 without brackets), the
    /// request line with an absolute URL naming the site, no Referer, no user name.
    case awsALB = "aws_alb"
    /// Amazon S3 server access log of a static website bucket: the bucket (the site), the
    /// client, an anonymous requester, the request, referrer and user agent, and the fields
    /// S3 writes after them.
    case awsS3 = "aws_s3"
    /// AWS Classic Load Balancer access log (HTTPS listener): the same client, request and user
    /// agent fields as `aws_alb`, fewer fields around them.
    case awsELB = "aws_elb"
    /// HAProxy's HTTP log (`option httplog`) as rsyslog writes it to a file: a syslog header,
    /// `client:port`, the accept date in local time without a zone, the captured `uid` cookie
    /// and the captured request headers `{Host|User-Agent|Referer}` (read with
    /// `--haproxy-headers host,user-agent,referer`), the request last (HTTP/2 requests with an
    /// absolute URL, as HAProxy logs them).
    case haproxy
    /// Google Cloud Storage usage log (CSV, every field quoted, a header row) of website
    /// buckets named after their sites: requests to the site's own host, and one in eight
    /// path-style through `storage.googleapis.com` (`/SITE/path`); `,gzip(gfe)` after three
    /// user agents in four, as Google's front end appends it.
    case gcs
    /// Squid's native access log (`logformat squid`) of a reverse proxy in front of the sites
    /// (`https_port … accel`, `strip_query_terms off`): epoch time, the client, result code and
    /// status, size, method, the absolute URL naming the site, the user; no user agent, no
    /// referrer.
    case squid

    /// The line carries the virtual host, so several sites can share one log.
    var hasHost: Bool {
        switch self {
        case .vhostCombined, .vhostCommon, .jsonCaddy, .jsonNginx, .jsonTraefik, .jsonTraefikDefault, .jsonCloudflare,
            .w3c, .awsALB,
            .awsELB, .awsS3, .haproxy, .gcs, .squid:
            true
        default: false
        }
    }

    /// The line carries the User-Agent (bots and mail proxies are recognisable).
    var hasUserAgent: Bool {
        self != .common && self != .vhostCommon && self != .jsonTraefikDefault && self != .squid
    }

    /// The line carries the `uid` cookie value.
    var hasCookie: Bool {
        switch self {
        case .combinedCookie, .combinedCookieXFF, .nginxCustom, .haproxy: true
        default: false
        }
    }

    /// The line carries the authenticated user name.
    var hasUser: Bool {
        self != .jsonNginx && self != .jsonCloudflare && self != .awsS3 && self != .haproxy && self != .gcs && !isAWS
    }

    /// The line carries the Referer.
    var hasReferrer: Bool { hasUserAgent && !isAWS }

    /// An AWS load balancer's access log.
    var isAWS: Bool { self == .awsALB || self == .awsELB }

    /// The line names the server's own address (W3C's `s-ip`, a load balancer's target,
    /// Traefik's server URL).
    var hasServerAddress: Bool { self == .w3c || isAWS || self == .traefikCLF || self == .squid }

    /// The line carries a quote character, so an unbalanced quote can be produced.
    var usesQuotes: Bool { self != .w3c && self != .squid }

    /// One JSON object per line.
    var isJSON: Bool {
        switch self {
        case .jsonCaddy, .jsonNginx, .jsonTraefik, .jsonTraefikDefault, .jsonCloudflare: true
        default: false
        }
    }
}
