import Foundation
import HandoverArchive
import TestSupport
import Testing

/// Checks unpacked bundles as their receivers would: frictionless-py validates each `datapackage.json` (every
/// resource's schema, bytes, hash and declared foreign keys) and each CSV file against its own
/// `.tableschema.json`, bagit-python's `--validate` each bag. Prints one line per bundle:
/// `<index> <package errors> <bagit exit status> <standalone schema errors> <first errors>`.
let receiverScript = """
    import json, subprocess, sys
    from frictionless import Resource, validate
    def problems(report):
        return list(report.errors) + [e for task in report.tasks for e in task.errors]
    for index, path in enumerate(sys.argv[1:]):
        errors = problems(validate(path + "/datapackage.json"))
        standalone = []
        for file in json.load(open(path + "/manifest.json"))["files"]:
            if file["format"] == "csv":
                standalone += problems(validate(Resource(path=file["path"], schema=file["schema"], basepath=path)))
        bag = subprocess.run([sys.executable, "-m", "bagit", "--validate", path], capture_output=True, text=True)
        notes = " | ".join((e.type + ": " + e.note)[:160] for e in (errors + standalone)[:3])
        print(index, len(errors), bag.returncode, len(standalone), notes.replace("\\n", " ") + ("" if bag.returncode == 0 else " | bagit: " + bag.stderr[-300:].replace("\\n", " ")))
    """

/// A third-party shop database with mixed-case table and column names, a table named like an SQL keyword,
/// references within and across tables, a pseudonymised reference, and a referral that crosses stores.
let mixedCaseDatabase = """
    CREATE TABLE "Store" ("Id" INTEGER PRIMARY KEY, "Name" TEXT NOT NULL);
    CREATE TABLE "Customer" ("Id" INTEGER PRIMARY KEY, "StoreId" INTEGER NOT NULL, "Email" TEXT NOT NULL UNIQUE,
        "Name" TEXT, "ReferredBy" INTEGER);
    CREATE TABLE "Order" ("Id" INTEGER PRIMARY KEY, "CustomerId" INTEGER NOT NULL, "Total" REAL, "PlacedAt" DATETIME);
    CREATE TABLE "OrderLine" ("Id" INTEGER PRIMARY KEY, "OrderId" INTEGER NOT NULL, "Product" TEXT NOT NULL,
        "Qty" INTEGER);
    CREATE TABLE "Review" ("Id" INTEGER PRIMARY KEY, "OrderId" INTEGER NOT NULL, "AuthorId" INTEGER NOT NULL,
        "Body" TEXT);
    CREATE INDEX "CustomerStore" ON "Customer"("StoreId");
    CREATE INDEX "OrderCustomer" ON "Order"("CustomerId");
    CREATE INDEX "LineOrder" ON "OrderLine"("OrderId");
    CREATE INDEX "ReviewOrder" ON "Review"("OrderId");
    CREATE INDEX "ReviewAuthor" ON "Review"("AuthorId");
    """

let mixedCaseMap = """
    handover-map: 1
    exporter: {id: shop, version: "1"}
    subject: {table: Customer, key: Id}
    tenant: {table: Store, key: Id}
    tables:
      Store:
        tenant: Id
      Customer:
        references: {StoreId: Store.Id, ReferredBy: Customer.Id}
        subject: Id
        tenant: StoreId
      Order:
        references: {CustomerId: Customer.Id}
        subject: CustomerId
        tenant: {via: [CustomerId], column: StoreId}
      LineItem:
        from: OrderLine
        references: {OrderId: Order.Id}
        subject: {via: [OrderId], column: CustomerId}
        tenant: {via: [OrderId, CustomerId], column: StoreId}
      Review:
        columns:
          Id: integer
          OrderId: integer
          AuthorId: {type: integer, pseudonymize: true, description: The author; other people appear as a pseudonym.}
          Body: string
        references: {OrderId: Order.Id, AuthorId: Customer.Id}
        subject:
          - AuthorId
          - {via: [OrderId], column: CustomerId}
        tenant: {via: [OrderId, CustomerId], column: StoreId}
    """

/// The rows: stores 1 and 2 with three customers each; customer 2 was referred by customer 1, customer 3 (of
/// store 1) by customer 4 (of store 2); each customer has two orders of two lines; customers 1 and 2 review
/// each other's orders and customer 3 their own.
func mixedCaseRows() -> String {
    var sql = "INSERT INTO \"Store\" VALUES (1, 'North'), (2, 'South');\n"
    let referrals = [2: "1", 3: "4"]
    for customer in 1...6 {
        sql +=
            "INSERT INTO \"Customer\" VALUES (\(customer), \(customer <= 3 ? 1 : 2), 'c\(customer)@shop.example', "
            + "'Customer \(customer)', \(referrals[customer] ?? "NULL"));\n"
        for order in 1...2 {
            let id = customer * 10 + order
            sql +=
                "INSERT INTO \"Order\" VALUES (\(id), \(customer), \(id).5, '2025-0\(order)-0\(customer) 10:00:00');\n"
            for line in 1...2 {
                sql += "INSERT INTO \"OrderLine\" VALUES (\(id * 10 + line), \(id), 'Item \(line)', \(line));\n"
            }
        }
    }
    sql += "INSERT INTO \"Review\" VALUES (1, 21, 1, 'Nice'), (2, 11, 2, 'Fine'), (3, 31, 3, 'Own');\n"
    return sql
}

/// The archive an `export --json` or `demo --json` run reports.
func archive(of result: ProcessResult) throws -> String {
    #expect(result.status == 0, "\(result.stderr)")
    let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    return try #require(report["archive"] as? String)
}

/// The resources of an unpacked bundle's `datapackage.json`, by name.
func resources(_ bundle: String) throws -> [String: [String: Any]] {
    let data = try Data(contentsOf: URL(fileURLWithPath: bundle + "/datapackage.json"))
    let package = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let list = try #require(package["resources"] as? [[String: Any]])
    return Dictionary(uniqueKeysWithValues: list.map { ($0["name"] as! String, $0) })
}

/// The declared foreign keys of a resource, as `field->resource.field`.
func declaredKeys(_ resource: [String: Any]?) -> [String] {
    let schema = resource?["schema"] as? [String: Any]
    return (schema?["foreignKeys"] as? [[String: Any]] ?? []).map { key in
        let reference = key["reference"] as? [String: Any] ?? [:]
        return ((key["fields"] as? [String]) ?? []).joined(separator: ",") + "->"
            + (reference["resource"] as? String ?? "?") + "."
            + ((reference["fields"] as? [String]) ?? []).joined(separator: ",")
    }.sorted()
}

/// The references a resource describes under `x-handover-references`, as `field:foreignKey`.
func describedReferences(_ resource: [String: Any]?) -> [String] {
    let schema = resource?["schema"] as? [String: Any]
    return (schema?["x-handover-references"] as? [[String: Any]] ?? []).map {
        ((($0["fields"] as? [String]) ?? []).joined(separator: ",")) + ":"
            + (($0["foreignKey"] as? NSNumber).map { $0.boolValue ? "true" : "false" } ?? "-")
    }.sorted()
}

@Suite struct ReceiverToolTests {
    @Test func frictionlessAndBagItAcceptDemoAndMixedCaseBundlesInBothScopes() async throws {
        try await withTemporaryDirectory { folder in
            var bundles: [String] = []
            let demo = try archive(of: try handover("demo", "--out", folder + "/demo", "--json"))
            bundles.append(try unpackArchive(demo, into: folder + "/unpacked-demo-subject"))
            let demoTenant = try archive(
                of: try handover(
                    "export", "--db", folder + "/demo/demo.sqlite", "--map", folder + "/demo/demo-map.yaml",
                    "--tenant", "2", "--out", folder + "/demo-tenant", "--json"))
            bundles.append(try unpackArchive(demoTenant, into: folder + "/unpacked-demo-tenant"))

            let database = folder + "/shop.sqlite"
            let created = try run("/usr/bin/env", ["sqlite3", database, mixedCaseDatabase + mixedCaseRows()])
            #expect(created.status == 0, "\(created.stderr)")
            let map = folder + "/shop.yaml"
            try Data(mixedCaseMap.utf8).write(to: URL(fileURLWithPath: map))
            let subject = try archive(
                of: try handover(
                    "export", "--db", database, "--map", map, "--subject", "Email=c2@shop.example", "--out",
                    folder + "/shop-subject", "--json"))
            bundles.append(try unpackArchive(subject, into: folder + "/unpacked-shop-subject"))
            let tenant = try archive(
                of: try handover(
                    "export", "--db", database, "--map", map, "--tenant", "1", "--out", folder + "/shop-tenant",
                    "--json"))
            bundles.append(try unpackArchive(tenant, into: folder + "/unpacked-shop-tenant"))

            // What is declared where: only references that hold for every row of the bundle.
            let demoSubject = try resources(bundles[0])
            #expect(declaredKeys(demoSubject["contacts"]) == ["owner_id->users.id"])
            #expect(declaredKeys(demoSubject["comments"]) == [])
            #expect(describedReferences(demoSubject["comments"]) == ["author_id:false", "content_id:false"])
            let demoTenantResources = try resources(bundles[1])
            #expect(declaredKeys(demoTenantResources["comments"]) == ["content_id->content_items.id"])
            #expect(declaredKeys(demoTenantResources["users"]) == ["tenant_id->tenants.id"])
            let shopSubject = try resources(bundles[2])
            #expect(shopSubject.keys.sorted() == ["customer", "lineitem", "order", "review"])
            #expect(declaredKeys(shopSubject["order"]) == ["CustomerId->customer.Id"])
            #expect(declaredKeys(shopSubject["lineitem"]) == ["OrderId->order.Id"])
            // The referrer and the store are not in a subject's bundle; reviews name others' orders and authors.
            #expect(declaredKeys(shopSubject["customer"]) == [])
            #expect(describedReferences(shopSubject["customer"]) == ["ReferredBy:false", "StoreId:false"])
            #expect(declaredKeys(shopSubject["review"]) == [])
            let shopTenant = try resources(bundles[3])
            // Customer 3's referrer belongs to the other store: dirty data, so the referral is not declared.
            #expect(declaredKeys(shopTenant["customer"]) == ["StoreId->store.Id"])
            #expect(declaredKeys(shopTenant["review"]) == ["OrderId->order.Id"])
            #expect(describedReferences(shopTenant["review"]) == ["AuthorId:false", "OrderId:true"])

            let checked = try run("/usr/bin/env", ["python3", "-c", receiverScript] + bundles)
            #expect(checked.status == 0, "\(checked.stderr)")
            let lines = checked.stdout.split(separator: "\n").map { $0.split(separator: " ", maxSplits: 4) }
            #expect(lines.count == bundles.count, "\(checked.stdout)")
            var errors = 0
            var invalidBags = 0
            for line in lines where line.count >= 4 {
                let found = (Int(line[1]) ?? -1, Int(line[3]) ?? -1)
                let bag = Int(line[2]) ?? -1
                errors += max(found.0, 0) + max(found.1, 0)
                invalidBags += bag == 0 ? 0 : 1
                let notes = line.count > 4 ? line[4] : ""
                #expect(found.0 == 0, "frictionless, datapackage.json of bundle \(line[0]): \(notes)")
                #expect(
                    found.1 == 0, "frictionless, CSV files with their own Table Schema, bundle \(line[0]): \(notes)")
                #expect(bag == 0, "bagit, bundle \(line[0]): \(notes)")
            }
            print(
                "frictionless: \(bundles.count) bundles, \(errors) errors; bagit: \(bundles.count) bags, \(invalidBags) invalid"
            )
            // Each verifies with Handover's own verify too, foreign keys included.
            for archive in [demo, demoTenant, subject, tenant] {
                let verified = try handover("verify", archive)
                #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
            }
        }
    }

    /// Tar bundles, whose data is compressed while it is written, unpacked by GNU tar itself (zstd, gzip and xz from
    /// the system) and judged by bagit-python and frictionless-py.
    @Test(arguments: ["tzst", "tgz", "txz"])
    func bagItAndFrictionlessAcceptTarBundlesUnpackedByTar(format: String) async throws {
        try await withTemporaryDirectory { folder in
            _ = try handover("demo", "--out", folder + "/demo", "--json")
            let tenant = try archive(
                of: try handover(
                    "export", "--db", folder + "/demo/demo.sqlite", "--map", folder + "/demo/demo-map.yaml",
                    "--tenant", "2", "--archive", format, "--out", folder + "/tenant", "--json"))
            let unpacked = folder + "/unpacked"
            try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
            let extracted = try run("/usr/bin/env", ["tar", "-xf", tenant, "-C", unpacked])
            #expect(extracted.status == 0, "tar -xf: \(extracted.stderr)")
            let bag = unpacked + "/" + ((tenant as NSString).lastPathComponent.components(separatedBy: ".").first ?? "")
            #expect(try readArchive(tenant).count > 20)
            let checked = try run("/usr/bin/env", ["python3", "-c", receiverScript, bag])
            #expect(checked.status == 0, "\(checked.stderr)")
            let line = checked.stdout.split(separator: "\n").first.map { $0.split(separator: " ", maxSplits: 4) } ?? []
            #expect(line.count >= 4, "\(checked.stdout)")
            if line.count >= 4 {
                #expect(line[1] == "0" && line[3] == "0", "frictionless: \(checked.stdout)")
                #expect(line[2] == "0", "bagit: \(checked.stdout)")
            }
            let verified = try handover("verify", tenant)
            #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
        }
    }
}
