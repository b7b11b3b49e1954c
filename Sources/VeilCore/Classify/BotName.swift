/// Which bot or mail proxy sent a request, as a closed vocabulary.
///
/// The raw value is the stable label written to CSV. Several user-agent tokens can map to one
/// name (`msnbot` and `BingPreview` are `bingbot`). Bots recognised only by the generic rules
/// (a word ending in `bot`, `crawl`, `spider`, ...) are `otherBot`.
public enum BotName: String, Sendable, Hashable, CaseIterable {
    // MARK: Rules without a name
    /// Empty or `-` user agent.
    case noUserAgent = "no-user-agent"
    /// Recognised only by a generic rule.
    case otherBot = "other-bot"

    // MARK: Search engines
    case googlebot
    /// Google's other fetchers: AdsBot, Mediapartners, GoogleOther, Inspection Tool, ...
    case googleOther = "google-other"
    case bingbot
    case yandexbot
    /// Mail.Ru's search crawler.
    case mailru
    case baiduspider
    case duckduckbot
    case applebot
    case yahooSlurp = "yahoo-slurp"
    case sogou
    case exabot
    case seznambot
    case naver
    case petalbot
    case qwant
    case mojeek
    case coccoc
    case daum
    case iaArchiver = "ia-archiver"
    case archiveOrg = "archive-org"

    // MARK: AI crawlers and assistants
    case gptbot
    case chatgptUser = "chatgpt-user"
    case oaiSearchbot = "oai-searchbot"
    case claudebot
    case ccbot
    case perplexitybot
    case bytespider
    case amazonbot
    case metaExternalAgent = "meta-externalagent"
    case diffbot
    case cohere

    // MARK: SEO tools
    case ahrefsbot
    case semrushbot
    case mj12bot
    case dotbot
    case blexbot
    case serpstatbot
    case dataforseobot
    case barkrowler
    case screamingFrog = "screaming-frog"
    case rogerbot
    case seekport
    case dataprovider

    // MARK: Link previews and social
    case facebookexternalhit
    case twitterbot
    case linkedinbot
    case slackbot
    case discordbot
    case telegrambot
    case whatsapp
    case pinterestbot
    case redditbot
    case embedly
    case iframely
    case skypePreview = "skype-preview"
    case mastodon
    case vkshare

    // MARK: Monitoring
    case uptimerobot
    case pingdom
    case statuscake
    case site24x7
    case datadog
    case newrelic
    case betterUptime = "better-uptime"
    case uptimeKuma = "uptime-kuma"
    case checkly
    case freshping
    case hetrixtools
    case zabbix
    case nagios
    case lighthouse
    case webpagetest
    case gtmetrix
    case healthCheck = "health-check"
    /// Prometheus scrapes and its Blackbox exporter's probes.
    case prometheus

    // MARK: Feed readers and site software
    case feedly
    case inoreader
    case newsblur
    case feedbin
    case feedburner
    /// Python's Universal Feed Parser (`UniversalFeedParser/…`).
    case feedparser
    case simplepie
    case theoldreader
    /// Tiny Tiny RSS.
    case ttRSS = "tt-rss"
    case liferea
    case flipboard
    /// Feed reader apps that fetch feeds themselves (on Apple platforms through CFNetwork:
    /// `Reeder/2.1.1 CFNetwork/672.0.8 Darwin/14.0.0`).
    case reeder
    case netnewswire
    case newsify
    case readkit
    case fieryFeeds = "fiery-feeds"
    /// Self-hosted feed readers.
    case freshrss
    case miniflux
    /// WordPress's own requests (cron, pingbacks, update checks): `WordPress/6.4.2; https://…`.
    case wordpress

    // MARK: Browsers' background fetches
    /// Safari's own fetches outside a page load — site icons, touch icons, Top Sites
    /// thumbnails — sent through CFNetwork with a user agent that starts with the browser's
    /// name (`Safari/9537.73.11 CFNetwork/673.0.3 Darwin/13.0.0 (x86_64)`,
    /// `MobileSafari/9537.53 CFNetwork/672.0.8 Darwin/14.0.0`), not `Mozilla/5.0 (…)` as its
    /// page loads do. Counted as a person, each would be a second visitor beside the browser
    /// that asked for it (another user agent from the same address).
    case safariFetcher = "safari-fetcher"

    // MARK: HTTP libraries and command-line tools
    case curl
    case wget
    case pythonRequests = "python-requests"
    case pythonUrllib = "python-urllib"
    case aiohttp
    case httpx
    case goHttpClient = "go-http-client"
    case java
    case okhttp
    case apacheHttpclient = "apache-httpclient"
    case libwwwPerl = "libwww-perl"
    case nodeFetch = "node-fetch"
    case axios
    case ruby
    case php
    case scrapy
    case httpie
    case postman
    case insomnia
    case faraday
    case powershell
    case dart
    case reqwest
    case nutch
    case mechanize
    /// The AWS command-line tool (`aws-cli/2.15.0 Python/3.11.6 …`).
    case awsCLI = "aws-cli"
    /// AWS SDKs (`aws-sdk-java/…`, `aws-sdk-go-v2/…`, `Boto3/…`, `Botocore/…`).
    case awsSDK = "aws-sdk"
    /// The S3 console's own requests (`S3Console/0.4`), as S3 server access logs show them.
    case awsConsole = "aws-console"
    /// Google Cloud's command-line tools, as Cloud Storage usage logs show them: `gsutil`
    /// (`apitools gsutil/4.13 …`) and `gcloud` (`google-cloud-sdk gcloud/456.0.0 …`).
    case gcloudCLI = "gcloud-cli"
    /// Google Cloud's client libraries and API clients (`gcloud-python/…`, `gcloud-golang/…`,
    /// `gccl/…`, `google-api-go-client/…`, `google-api-python-client/…`).
    case googleCloudSDK = "google-cloud-sdk"

    // MARK: Scanners
    case zgrab
    case nmap
    case nikto
    case sqlmap
    case masscan

    // MARK: Headless and automated browsers
    case headlessChrome = "headless-chrome"
    case phantomjs
    case puppeteer
    case selenium
    case playwright
    case cypress

    // MARK: Mail image proxies (kind `mailProxy`)
    /// Gmail's image proxy (`GoogleImageProxy`).
    case googleImageProxy = "google-image-proxy"
    /// Yahoo Mail's image proxy (`YahooMailProxy`).
    case yahooMailProxy = "yahoo-mail-proxy"
    /// Apple Mail Privacy Protection: a user agent that is exactly `Mozilla/5.0`.
    case appleMPP = "apple-mpp"

    /// Stable lower-case label used in CSV output.
    @inlinable public var label: String { rawValue }
}
