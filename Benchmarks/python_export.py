#!/usr/bin/env python3
"""The Python peer: one tenant's rows from the demo database, written with the csv and json modules."""
import csv
import json
import os
import sqlite3
import sys

TABLES = ["tenants", "users", "contacts", "content_items", "comments", "coaching_feedback", "activity_events"]


def main(database: str, tenant: int, out: str) -> None:
    os.makedirs(out, exist_ok=True)
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    for table in TABLES:
        columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})") if row[1] != "password_hash"]
        key = "id" if table == "tenants" else "tenant_id"
        query = f"SELECT {', '.join(columns)} FROM {table} WHERE {key} = ? ORDER BY id"
        with open(os.path.join(out, table + ".csv"), "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            for row in db.execute(query, (tenant,)):
                writer.writerow(row)
        with open(os.path.join(out, table + ".json"), "w", encoding="utf-8") as f:
            f.write("[")
            for index, row in enumerate(db.execute(query, (tenant,))):
                f.write(",\n" if index else "\n")
                f.write(json.dumps(dict(zip(columns, row)), ensure_ascii=False))
            f.write("\n]\n")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
