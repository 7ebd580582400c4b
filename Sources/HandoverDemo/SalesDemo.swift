internal import Foundation
public import HandoverCore
internal import HandoverSQL
internal import HandoverSQLite

/// The demo product: a sales-enablement SaaS whose companies (tenants) have sales reps and
/// managers (users) who record pitch videos, share documents, coach each other and talk to
/// customers; plus contact-form submissions from the public website, where the operator, not a
/// tenant, is the controller.
public enum SalesDemo {
    /// The subject `handover demo` exports: a sales rep whose recordings others commented on.
    public static let demoSubject = SubjectSelector(column: "email", value: "ana.lima@acme.example")

    /// How many rows of each table a database holds.
    public struct Summary: Sendable, Hashable {
        /// Rows per table, by table name.
        public var rows: [String: Int]
        /// All rows.
        public var total: Int { rows.values.reduce(0, +) }
    }

    /// Creates the demo database at `path`, replacing any file there.
    /// - Parameters:
    ///   - path: Where the database goes.
    ///   - scale: Multiplies the number of users and everything they own; 1 gives a few thousand rows.
    ///   - seed: Seeds the generator; the same seed gives the same data.
    /// - Returns: The row count of each table.
    /// - Throws: ``HandoverError`` when the database cannot be written.
    @discardableResult
    public static func createDatabase(at path: String, scale: Int = 1, seed: UInt64 = 2026) throws -> Summary {
        for suffix in ["", "-wal", "-shm", "-journal"] where FileManager.default.fileExists(atPath: path + suffix) {
            do {
                try FileManager.default.removeItem(atPath: path + suffix)
            } catch {
                throw HandoverError(.outputUnavailable, "cannot replace '\(path + suffix)'")
            }
        }
        var generator = DemoGenerator(scale: max(1, scale), seed: seed)
        return try generator.write(to: path)
    }

    /// How many content items have a file (the first ones: the demo subject's six recordings and documents, and
    /// some of others'), at every scale.
    public static let mediaItems = 24

    /// The path, relative to the media folder, of the file of content item `id`: a recording (WAV) for two ids
    /// of three, a document (PDF) for the third, as the database's `kind` says.
    public static func mediaPath(id: Int) -> String {
        id % 3 != 0 ? "recordings/pitch-\(id).wav" : "documents/deck-\(id).pdf"
    }

    /// Writes the files the demo database's content items name under `folder` (`recordings/…wav`: a short
    /// generated tone, a few kilobytes; `documents/…pdf`: a one-page PDF), files of mode 0600.
    /// - Throws: ``HandoverError/Code/outputUnavailable`` when a file cannot be written.
    public static func createMedia(in folder: String) throws {
        for id in 1...mediaItems {
            let path = folder + "/" + mediaPath(id: id)
            let bytes =
                id % 3 != 0
                ? DemoMedia.wave(tone: 220 + 40 * Double(id % 7), seconds: 0.4)
                : DemoMedia.pdf(
                    text: "Sales deck \(id): generated demo document")
            do {
                try FileManager.default.createDirectory(
                    atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700])
                if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
                guard
                    FileManager.default.createFile(
                        atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
                else { throw HandoverError(.outputUnavailable, "cannot write '\(path)'") }
            } catch let error as HandoverError {
                throw error
            } catch {
                throw HandoverError(.outputUnavailable, "cannot write the demo's media under '\(folder)'")
            }
        }
    }

    /// The dataset map of the demo database with its content items' files carried into bundles, from
    /// `mediaRoot` (relative to the map's folder, or absolute).
    public static func datasetMap(mediaRoot: String) -> String {
        datasetMap.replacingOccurrences(
            of: "file_ref: {type: string, title: File reference}",
            with: "file_ref: {type: string, title: File reference, file: {root: \(mediaRoot)}}")
    }

    /// The dataset map of the demo database.
    public static let datasetMap: String = """
        # Dataset map of the demo sales-enablement database (format: README, "The dataset map").
        handover-map: 1
        exporter:
          id: sales
          version: "1.0"
        # Data subjects are users, found by any column of this table (--subject email=...).
        subject:
          table: users
          key: id
        # Tenants are companies (--tenant 1).
        tenant:
          table: tenants
          key: id
        tables:
          tenants:
            title: Companies
            description: The business customers of the product.
            tenant: id
          users:
            title: Users
            description: Sales reps and managers.
            exclude: [password_hash]
            references:
              tenant_id: tenants.id
            subject: id
            tenant: tenant_id
          contacts:
            title: Contacts
            description: People the users sell to.
            references:
              owner_id: users.id
            subject: owner_id
            tenant: tenant_id
          content_items:
            title: Content
            description: Recordings and documents, with references to their files.
            columns:
              id: integer
              tenant_id: integer
              owner_id: integer
              kind: {type: string, required: true, title: Kind, enum: [recording, document]}
              title: {type: string, required: true, title: Title, max-length: 200}
              duration_seconds: {type: number, title: Duration in seconds, minimum: 0}
              file_ref: {type: string, title: File reference}
              created_at: {type: datetime, required: true}
            references:
              owner_id: users.id
            subject: owner_id
            tenant: tenant_id
          comments:
            title: Comments
            description: Comments written by the subject, and comments by others on the subject's content.
            columns:
              id: integer
              tenant_id: integer
              content_id: integer
              author_id: {type: integer, pseudonymize: true, description: The author; other people appear as a pseudonym.}
              body: {type: string, required: true}
              created_at: datetime
            references:
              content_id: content_items.id
              author_id: users.id
            subject:
              - author_id
              - {via: [content_id], column: owner_id}
            tenant: tenant_id
          coaching_feedback:
            title: Coaching feedback
            description: Feedback given by the subject, and feedback others gave on the subject's content.
            references:
              content_id: content_items.id
              coach_id: users.id
            columns:
              id: integer
              tenant_id: integer
              content_id: integer
              coach_id: {type: integer, pseudonymize: true, description: The coach; other people appear as a pseudonym.}
              score: {type: integer, minimum: 1, maximum: 5}
              feedback: string
              created_at: datetime
            subject:
              - coach_id
              - {via: [content_id], column: owner_id}
            tenant: tenant_id
          activity_events:
            title: Activity
            description: Views, shares and logins, with time and IP address.
            references:
              user_id: users.id
            subject: user_id
            tenant: tenant_id
          contact_form_submissions:
            title: Website contact forms
            description: Messages sent through the public website; the operator is their controller, so no tenant receives them.
            subject: {column: email, matches: email}
        """
}

/// A small, fast, seeded pseudo-random generator (SplitMix64): the same seed gives the same sequence.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    /// The generator's state; the seed to start with.
    public var state: UInt64

    /// Starts from `seed`.
    public init(state seed: UInt64) {
        self.state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct DemoGenerator {
    let scale: Int
    var random: SeededGenerator

    init(scale: Int, seed: UInt64) {
        self.scale = scale
        self.random = SeededGenerator(state: seed)
    }

    static let schema = """
        PRAGMA journal_mode = WAL;
        CREATE TABLE tenants (
            id INTEGER PRIMARY KEY, name TEXT NOT NULL, plan TEXT, created_at DATETIME NOT NULL);
        CREATE TABLE users (
            id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES tenants(id), name TEXT NOT NULL,
            email TEXT NOT NULL UNIQUE, role TEXT NOT NULL, locale TEXT, time_zone TEXT, password_hash TEXT,
            active BOOLEAN NOT NULL, created_at DATETIME NOT NULL);
        CREATE TABLE contacts (
            id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES tenants(id),
            owner_id INTEGER NOT NULL REFERENCES users(id), name TEXT NOT NULL, email TEXT, company TEXT,
            phone TEXT, notes TEXT, created_at DATETIME NOT NULL);
        CREATE TABLE content_items (
            id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES tenants(id),
            owner_id INTEGER NOT NULL REFERENCES users(id), kind TEXT NOT NULL, title TEXT NOT NULL,
            duration_seconds REAL, file_ref TEXT, created_at DATETIME NOT NULL);
        CREATE TABLE comments (
            id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES tenants(id),
            content_id INTEGER NOT NULL REFERENCES content_items(id), author_id INTEGER NOT NULL REFERENCES users(id),
            body TEXT NOT NULL, created_at DATETIME NOT NULL);
        CREATE TABLE coaching_feedback (
            id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES tenants(id),
            content_id INTEGER NOT NULL REFERENCES content_items(id), coach_id INTEGER NOT NULL REFERENCES users(id),
            score INTEGER, feedback TEXT, created_at DATETIME NOT NULL);
        CREATE TABLE activity_events (
            id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES tenants(id),
            user_id INTEGER NOT NULL REFERENCES users(id), kind TEXT NOT NULL, content_id INTEGER,
            ip_address TEXT, occurred_at INTEGER NOT NULL);
        CREATE TABLE contact_form_submissions (
            id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT, message TEXT NOT NULL,
            ip_address TEXT, submitted_at DATETIME NOT NULL);
        CREATE INDEX users_tenant ON users(tenant_id);
        CREATE INDEX contacts_owner ON contacts(owner_id);
        CREATE INDEX contacts_tenant ON contacts(tenant_id);
        CREATE INDEX content_owner ON content_items(owner_id);
        CREATE INDEX content_tenant ON content_items(tenant_id);
        CREATE INDEX comments_content ON comments(content_id);
        CREATE INDEX comments_author ON comments(author_id);
        CREATE INDEX comments_tenant ON comments(tenant_id);
        CREATE INDEX feedback_content ON coaching_feedback(content_id);
        CREATE INDEX feedback_coach ON coaching_feedback(coach_id);
        CREATE INDEX feedback_tenant ON coaching_feedback(tenant_id);
        CREATE INDEX events_user ON activity_events(user_id);
        CREATE INDEX events_tenant ON activity_events(tenant_id);
        CREATE INDEX forms_email ON contact_form_submissions(email);
        """

    static let firstNames = [
        "Ana", "Zoë", "Łukasz", "Jürgen", "Siobhán", "Mei", "李", "Olúwadámilọ́lá", "François", "Ingrid", "José", "Ayşe",
        "Dmitri", "Priya", "Noa", "Björk", "Chloé", "Kwame", "Renée", "Åsa", "Miguel", "Søren", "Yuki", "Fatima",
    ]
    static let lastNames = [
        "Lima", "O'Neil", "Żółć", "Müller", "Ní Bhriain", "Chen", "小龍", "Adébáyọ̀", "Dupont", "Håkansson",
        "Núñez", "Yılmaz", "Иванов", "Sharma", "Levi", "Guðmundsdóttir", "Martin", "Mensah", "Léger", "Ström",
    ]
    static let companies = ["Acme Corp", "Globex, Inc.", "Initech \"Labs\""]
    static let topics = [
        "Discovery call", "Pricing walkthrough", "Q3 pitch", "Objection handling", "Demo: \"analytics\" module",
        "Renewal, expansion & upsell", "Cold call practice", "Onboarding deck",
    ]
    static let commentBodies = [
        "Great opener!", "Try pausing after the price, then ask a question.",
        "Loved the story about the customer, \"Globex\".", "Line 1\nLine 2: slow down here",
        "Too long; cut the intro, the agenda, and the recap.", "👍 Ship it", "Can you share the deck?\r\nThanks",
        "Nice — but check the numbers, they're from 2024.",
    ]

    mutating func pick<T>(_ values: [T]) -> T { values[Int.random(in: 0..<values.count, using: &random)] }
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }
    mutating func chance(_ percent: Int) -> Bool { int(1...100) <= percent }

    /// `YYYY-MM-DD HH:MM:SS`, as SQLite's own date functions write.
    mutating func sqliteTime(dayOffset: Int) -> String {
        let start = Timestamp(iso8601: "2025-01-01T08:00:00Z")!.millisecondsSince1970 / 1000
        let seconds = start + Int64(dayOffset) * 86_400 + Int64(int(0...36_000))
        let text = Timestamp(secondsSince1970: seconds).iso8601
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(8))
    }

    mutating func write(to path: String) throws -> SalesDemo.Summary {
        var rows: [String: Int] = [:]
        try SQLiteConnection.withConnection(path: path, mode: .readWriteCreate) { db in
            try db.execute(Self.schema)
            try db.withTransaction {
                rows = try insertAll(db)
            }
            try db.execute("ANALYZE")
        }
        return SalesDemo.Summary(rows: rows)
    }

    mutating func insertAll(_ db: SQLiteConnection) throws -> [String: Int] {
        var rows: [String: Int] = [:]
        let tenants = Self.companies.count
        let tenantInsert = try db.prepare("INSERT INTO tenants VALUES (?, ?, ?, ?)")
        for id in 1...tenants {
            try tenantInsert.run([
                .integer(Int64(id)), .text(Self.companies[id - 1]),
                id == 2 ? .null : .text(pick(["team", "enterprise"])),
                .text(sqliteTime(dayOffset: -300 + id)),
            ])
        }
        rows["tenants"] = tenants

        let usersCount = 60 * scale
        let userInsert = try db.prepare("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        var userTenant: [Int] = [0]
        for id in 1...usersCount {
            let tenant = id == 1 ? 1 : int(1...tenants)
            userTenant.append(tenant)
            let first = id == 1 ? "Ana" : pick(Self.firstNames)
            let last = id == 1 ? "Lima" : pick(Self.lastNames)
            let email =
                id == 1 ? SalesDemo.demoSubject.value : "user\(id)@\(["acme", "globex", "initech"][tenant - 1]).example"
            try userInsert.run([
                .integer(Int64(id)), .integer(Int64(tenant)), .text(first + " " + last), .text(email),
                .text(id % 7 == 0 ? "manager" : "rep"),
                chance(20) ? .null : .text(pick(["en-GB", "de-DE", "pl-PL", "ja-JP", "pt-BR"])),
                chance(15)
                    ? .null : .text(pick(["Europe/Berlin", "America/Sao_Paulo", "Asia/Tokyo", "Europe/Warsaw"])),
                .text("$argon2id$v=19$m=65536$not-a-real-hash-\(id)"), .integer(chance(90) ? 1 : 0),
                .text(sqliteTime(dayOffset: -200 + id % 100)),
            ])
        }
        rows["users"] = usersCount

        func sameTenantUser(_ tenant: Int, excluding: Int? = nil) -> Int {
            for _ in 0..<50 {
                let candidate = int(1...usersCount)
                if userTenant[candidate] == tenant && candidate != excluding { return candidate }
            }
            return excluding == 1 ? 2 : 1
        }

        let contactInsert = try db.prepare("INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        let contactCount = 300 * scale
        for id in 1...contactCount {
            let owner = id <= 5 ? 1 : int(1...usersCount)
            let notes: SQLiteValue =
                switch id % 6 {
                case 0: .null
                case 1: .text("Met at the fair, interested in \"Pro\" plan, call back in May")
                case 2: .text("Gatekeeper: assistant,\nasks for email first")
                case 3: .text("Pasted from a PDF:\u{0B}page break\u{0C}and a form feed")
                default: .text("Prefers calls after 3pm")
                }
            try contactInsert.run([
                .integer(Int64(id)), .integer(Int64(userTenant[owner])), .integer(Int64(owner)),
                .text(pick(Self.firstNames) + " " + pick(Self.lastNames)),
                chance(10) ? .null : .text("contact\(id)@customer.example"),
                .text(pick(["Umbrella", "Hooli", "Wayne Enterprises", "Stark, Inc."])),
                chance(30) ? .null : .text("+49 30 \(int(1_000_000...9_999_999))"), notes,
                .text(sqliteTime(dayOffset: -100 + id % 90)),
            ])
        }
        rows["contacts"] = contactCount

        let contentInsert = try db.prepare("INSERT INTO content_items VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        let contentCount = 400 * scale
        var contentOwner: [Int] = [0]
        for id in 1...contentCount {
            let owner = id <= 6 ? 1 : int(1...usersCount)
            contentOwner.append(owner)
            let recording = id % 3 != 0
            try contentInsert.run([
                .integer(Int64(id)), .integer(Int64(userTenant[owner])), .integer(Int64(owner)),
                .text(recording ? "recording" : "document"), .text(pick(Self.topics) + " #\(id)"),
                recording ? .real(Double(int(30...1800)) + 0.5) : .null,
                // The first items have files in the demo's media folder (``createMedia(in:)``); the rest none.
                id <= SalesDemo.mediaItems ? .text(SalesDemo.mediaPath(id: id)) : .null,
                .text(sqliteTime(dayOffset: -90 + id % 80)),
            ])
        }
        rows["content_items"] = contentCount

        let commentInsert = try db.prepare("INSERT INTO comments VALUES (?, ?, ?, ?, ?, ?)")
        let commentCount = 1200 * scale
        for id in 1...commentCount {
            // The first comments are others' comments on the demo subject's recordings.
            let content = id <= 12 ? 1 + id % 6 : int(1...contentCount)
            let tenant = userTenant[contentOwner[content]]
            let author = id <= 12 ? sameTenantUser(tenant, excluding: 1) : (id % 50 == 0 ? 1 : sameTenantUser(tenant))
            try commentInsert.run([
                .integer(Int64(id)), .integer(Int64(tenant)), .integer(Int64(content)), .integer(Int64(author)),
                .text(pick(Self.commentBodies)), .text(sqliteTime(dayOffset: -60 + id % 55)),
            ])
        }
        rows["comments"] = commentCount

        let feedbackInsert = try db.prepare("INSERT INTO coaching_feedback VALUES (?, ?, ?, ?, ?, ?, ?)")
        let feedbackCount = 300 * scale
        for id in 1...feedbackCount {
            let content = id <= 4 ? id : int(1...contentCount)
            let tenant = userTenant[contentOwner[content]]
            let coach = sameTenantUser(tenant, excluding: contentOwner[content])
            try feedbackInsert.run([
                .integer(Int64(id)), .integer(Int64(tenant)), .integer(Int64(content)), .integer(Int64(coach)),
                chance(10) ? .null : .integer(Int64(int(1...5))),
                chance(10)
                    ? .null
                    : .text(
                        pick([
                            "Clear value proposition.", "Ask more open questions, e.g. \"why now?\"",
                            "Good pace,\nweak close.",
                        ])),
                .text(sqliteTime(dayOffset: -50 + id % 45)),
            ])
        }
        rows["coaching_feedback"] = feedbackCount

        let eventInsert = try db.prepare("INSERT INTO activity_events VALUES (?, ?, ?, ?, ?, ?, ?)")
        let eventCount = 2500 * scale
        let eventStart = Timestamp(iso8601: "2025-06-01T00:00:00Z")!.millisecondsSince1970 / 1000
        for id in 1...eventCount {
            let user = id % 40 == 0 ? 1 : int(1...usersCount)
            let kind = pick(["view", "share", "login"])
            try eventInsert.run([
                .integer(Int64(id)), .integer(Int64(userTenant[user])), .integer(Int64(user)), .text(kind),
                kind == "login" ? .null : .integer(Int64(int(1...contentCount))),
                chance(5)
                    ? .null
                    : (chance(50)
                        ? .text("203.0.113.\(int(1...254))") : .text("2001:db8::\(String(int(1...65535), radix: 16))")),
                .integer(eventStart + Int64(id) * 600 + Int64(int(0...599))),
            ])
        }
        rows["activity_events"] = eventCount

        let formInsert = try db.prepare("INSERT INTO contact_form_submissions VALUES (?, ?, ?, ?, ?, ?)")
        let formCount = 100 * scale
        for id in 1...formCount {
            let email =
                id % 25 == 1
                ? SalesDemo.demoSubject.value
                : (chance(50) ? "visitor\(id)@mail.example" : "user\(int(2...usersCount))@acme.example")
            try formInsert.run([
                .integer(Int64(id)), .text(email), chance(20) ? .null : .text(pick(Self.firstNames)),
                .text(
                    pick([
                        "Please send pricing.", "Do you integrate with Salesforce, HubSpot, or Pipedrive?",
                        "Delete my data, please.\nThanks!",
                    ])),
                .text("198.51.100.\(int(1...254))"), .text(sqliteTime(dayOffset: -30 + id % 25)),
            ])
        }
        rows["contact_form_submissions"] = formCount
        return rows
    }
}

/// The demo's generated media: a WAV tone and a one-page PDF, small and valid.
enum DemoMedia {
    /// A mono 8 kHz 8-bit WAV of a sine tone.
    static func wave(tone: Double, seconds: Double) -> [UInt8] {
        let rate = 8000
        let samples = Int(Double(rate) * seconds)
        var bytes: [UInt8] = []
        func append(_ text: String) { bytes += Array(text.utf8) }
        func append32(_ value: Int) { bytes += (0..<4).map { UInt8((value >> (8 * $0)) & 0xFF) } }
        func append16(_ value: Int) { bytes += (0..<2).map { UInt8((value >> (8 * $0)) & 0xFF) } }
        append("RIFF")
        append32(36 + samples)
        append("WAVEfmt ")
        append32(16)
        append16(1)  // PCM
        append16(1)  // mono
        append32(rate)
        append32(rate)  // bytes per second
        append16(1)  // block align
        append16(8)  // bits per sample
        append("data")
        append32(samples)
        for index in 0..<samples {
            let fade = min(1, Double(min(index, samples - index)) / 400)
            let value = sin(2 * Double.pi * tone * Double(index) / Double(rate)) * 100 * fade
            bytes.append(UInt8(128 + Int(value.rounded())))
        }
        return bytes
    }

    /// A one-page PDF showing `text` (ASCII letters, digits, spaces and `:`), with a correct cross-reference
    /// table.
    static func pdf(text: String) -> [UInt8] {
        let safe = String(text.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == " " || $0 == ":") })
        let stream = "BT /F1 18 Tf 72 720 Td (\(safe)) Tj ET"
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            "<< /Length \(stream.utf8.count) >>\nstream\n\(stream)\nendstream",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
        var document = "%PDF-1.4\n"
        var offsets: [Int] = []
        for (index, object) in objects.enumerated() {
            offsets.append(document.utf8.count)
            document += "\(index + 1) 0 obj\n\(object)\nendobj\n"
        }
        let table = document.utf8.count
        document += "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
        for offset in offsets {
            let digits = String(offset)
            document += String(repeating: "0", count: 10 - digits.count) + digits + " 00000 n \n"
        }
        document += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R >>\nstartxref\n\(table)\n%%EOF\n"
        return Array(document.utf8)
    }
}
