import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes the personal output of a join: a new directory (0700) holding `activity.csv`,
/// `campaigns.csv` and `manifest.json` (0600 each, classification `personal`).
///
/// The directory is built under a temporary name beside the destination, fsynced and renamed
/// into place, so a failed join leaves nothing. The destination must not exist or be an empty
/// directory, and never an anonymous rollup directory or inside one.
public enum PersonalOutput {
    public static let activityColumns = [
        "account_id", "site", "date", "pageviews", "visits", "first_seen", "last_seen",
    ]
    public static let campaignColumns = ["account_id", "site", "date", "campaign", "opens", "clicks"]

    /// Refuses a destination that exists and is not an empty directory, or that is or lies in
    /// an anonymous rollup directory.
    public static func checkDestination(_ dir: String) throws(VeilError) {
        let dir = AtomicDirectory.normalized(dir)
        let parent = AtomicFile.directory(of: dir)
        if classification(of: parent) == "anonymous" {
            throw VeilError(.usage, "personal output cannot go inside an anonymous rollup directory", file: dir)
        }
        var st = stat()
        guard lstat(dir, &st) == 0 else { return }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            throw VeilError(
                .usage, "the output exists and is not a directory (personal output needs a new directory)", file: dir)
        }
        if classification(of: dir) == "anonymous" {
            throw VeilError(
                .usage, "this is an anonymous rollup directory; personal output needs its own directory", file: dir)
        }
        // A volume's `lost+found`, veil's own work entries and the output's lock do not count.
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir))?.filter {
            !AtomicDirectory.isTolerated($0, in: dir)
        }
        guard entries?.isEmpty ?? false else {
            throw VeilError(
                .usage, "the output directory is not empty (personal output needs a new directory)", file: dir)
        }
    }

    /// The `classification` of the `manifest.json` in `dir`, if there is one.
    public static func classification(of dir: String) -> String? {
        guard let bytes = try? AtomicFile.read(dir + "/manifest.json"),
            let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
        else { return nil }
        return object["classification"] as? String
    }

    /// The two CSV files of a join result.
    public static func csvFiles(_ r: JoinResult) -> [(name: String, text: String, rows: Int)] {
        var activity = CSVWriter(header: activityColumns)
        for a in r.activity {
            activity.append([
                a.account, a.site, ISOTime.date(days: a.day), String(a.pageviews), String(a.visits),
                ISOTime.string(seconds: a.firstSeen), ISOTime.string(seconds: a.lastSeen),
            ])
        }
        var campaigns = CSVWriter(header: campaignColumns)
        for c in r.campaigns {
            campaigns.append([
                c.account, c.site, ISOTime.date(days: c.day), c.campaign, String(c.opens), String(c.clicks),
            ])
        }
        return [
            ("activity.csv", activity.text, r.activity.count), ("campaigns.csv", campaigns.text, r.campaigns.count),
        ]
    }

    /// Writes the files and `manifest` into `dir` (new or empty; made 0700), all at once.
    public static func write(_ r: JoinResult, to dir: String, manifest: [String: Any]) throws(VeilError) {
        try checkDestination(dir)
        var m = manifest
        var files: [String: Any] = [:]
        let csv = csvFiles(r)
        for f in csv {
            files[f.name] =
                [
                    "rows": f.rows, "columns": f.name == "activity.csv" ? activityColumns : campaignColumns,
                ] as [String: Any]
        }
        m["files"] = files
        m["classification"] = "personal"
        guard
            let json = try? JSONSerialization.data(
                withJSONObject: m, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        else { throw VeilError(.state, "cannot encode the manifest") }
        try AtomicDirectory.replace(dir, mode: 0o700, keepMode: false, owned: { _ in false }) {
            (tmp) throws(VeilError) in
            for f in csv { try AtomicFile.writeUnpublished(f.text, to: tmp + "/" + f.name, mode: 0o600) }
            try AtomicFile.writeUnpublished(Array(json) + [0x0A], to: tmp + "/manifest.json", mode: 0o600)
        }
    }
}
