#!/usr/bin/python3
"""t/mongo_standin.py - a MongoDB wire-protocol stand-in for the log store
tests (t/logstore_test.c).  Not a database: correctness only, not speed.

  /usr/bin/python3 t/mongo_standin.py [--port N] [--journal FILE]
                                      [--ready-file FILE] [--require-auth]

The wire protocol comes from mockupdb (MongoDB Inc.'s test server), the
query semantics from mongomock.  One catch-all handler answers what
server/logstore/logstore_mongo.c sends: the hello / isMaster handshake,
ping, insert (ordered or not, duplicate keys as write errors 11000), find
with filter / sort / skip / limit and getMore, delete, aggregate (counts),
createIndexes, killCursors and endSessions.

--journal makes the data survive a kill -9: every write is appended to
FILE as a JSON line and replayed at start, so a test can kill the
stand-in mid-stream and start it again on the same port.
--require-auth refuses every authentication (code 18), like a server given
wrong credentials.  The port is printed on stdout ("port N") and written
to --ready-file once the socket listens.
"""
import argparse
import os
import sys
import threading

import bson
from bson import json_util
import mockupdb
import mongomock

MAX_BATCH_BYTES = 4 * 1024 * 1024


class Standin:
    def __init__(self, journal, require_auth):
        self.db = mongomock.MongoClient()
        # unique indexes are checked here, with a set per index: mongomock
        # scans the whole collection for each insert (quadratic)
        self.unique = {}  # (db, coll) -> {index name: (fields, set of keys)}
        self.lock = threading.Lock()
        self.cursors = {}
        self.next_cursor = 1
        self.require_auth = require_auth
        self.journal = None
        if journal:
            if os.path.exists(journal):
                with open(journal) as f:
                    for line in f:
                        if line.endswith("\n"):  # a torn last line is skipped
                            self.apply(json_util.loads(line))
            self.journal = open(journal, "a")

    def coll(self, req, name):
        return self.db[req.namespace][name]

    # ---- writes, applied and journaled -----------------------------------
    def insert_one(self, db, coll, doc):
        """Inserts doc; False when a unique index already holds its key."""
        indexes = self.unique.get((db, coll), {})
        keys = [(ix, tuple(doc.get(f) for f in ix[0]))
                for ix in indexes.values()]
        if any(k in ix[1] for ix, k in keys):
            return False
        self.db[db][coll].insert_one(doc)
        for ix, k in keys:
            ix[1].add(k)
        return True

    def reindex(self, db, coll):
        for fields, keys in self.unique.get((db, coll), {}).values():
            keys.clear()
            for d in self.db[db][coll].find({}):
                keys.add(tuple(d.get(f) for f in fields))

    def apply(self, op):
        c = self.db[op["db"]][op["coll"]]
        if op["op"] == "insert":
            for d in op["docs"]:
                self.insert_one(op["db"], op["coll"], d)
        elif op["op"] == "delete":
            if op["limit"] == 1:
                c.delete_one(op["q"])
            else:
                c.delete_many(op["q"])
            self.reindex(op["db"], op["coll"])
        elif op["op"] == "index":
            c.create_index(list(op["key"].items()), name=op["name"])
            if op["unique"]:
                ix = self.unique.setdefault((op["db"], op["coll"]), {})
                if op["name"] not in ix:
                    ix[op["name"]] = (list(op["key"]), set())
                    self.reindex(op["db"], op["coll"])

    def log(self, op):
        if self.journal:
            self.journal.write(json_util.dumps(op) + "\n")
            self.journal.flush()

    # ---- commands ---------------------------------------------------------
    def hello(self, req):
        doc = {"ismaster": True, "isWritablePrimary": True, "helloOk": True,
               "maxBsonObjectSize": 16 * 1024 * 1024,
               "maxMessageSizeBytes": 48000000, "maxWriteBatchSize": 100000,
               "minWireVersion": 0, "maxWireVersion": 13, "ok": 1}
        if self.require_auth:
            doc["saslSupportedMechs"] = ["SCRAM-SHA-256", "SCRAM-SHA-1"]
        return doc

    def insert(self, req, cmd):
        ordered = cmd.get("ordered", True)
        n, errors, done = 0, [], []
        for i, d in enumerate(cmd.get("documents", [])):
            if self.insert_one(req.namespace, cmd["insert"], d):
                n += 1
                done.append(d)
            else:
                errors.append({"index": i, "code": 11000,
                               "errmsg": "E11000 duplicate key error"})
                if ordered:
                    break
        if done:
            self.log({"op": "insert", "db": req.namespace,
                      "coll": cmd["insert"], "docs": done})
        reply = {"ok": 1, "n": n}
        if errors:
            reply["writeErrors"] = errors
        return reply

    def delete(self, req, cmd):
        c = self.coll(req, cmd["delete"])
        n = 0
        for d in cmd.get("deletes", []):
            op = {"op": "delete", "db": req.namespace, "coll": cmd["delete"],
                  "q": d["q"], "limit": d.get("limit", 0)}
            if op["limit"] == 1:
                n += c.delete_one(d["q"]).deleted_count
            else:
                n += c.delete_many(d["q"]).deleted_count
            self.log(op)
        self.reindex(req.namespace, cmd["delete"])
        return {"ok": 1, "n": n}

    def create_indexes(self, req, cmd):
        for ix in cmd.get("indexes", []):
            op = {"op": "index", "db": req.namespace,
                  "coll": cmd["createIndexes"], "key": dict(ix["key"]),
                  "name": ix["name"], "unique": bool(ix.get("unique"))}
            self.apply(op)
            self.log(op)
        return {"ok": 1}

    def cursor_reply(self, req, name, docs, first, batch_size):
        batch, size = [], 0
        while docs and (batch_size <= 0 or len(batch) < batch_size):
            size += len(bson.encode(docs[0]))
            if batch and size > MAX_BATCH_BYTES:
                break
            batch.append(docs.pop(0))
        cid = 0
        if docs:
            cid = self.next_cursor
            self.next_cursor += 1
            self.cursors[cid] = docs
        ns = "%s.%s" % (req.namespace, name)
        key = "firstBatch" if first else "nextBatch"
        return {"ok": 1, "cursor": {"id": bson.int64.Int64(cid), "ns": ns,
                                    key: batch}}

    def find(self, req, cmd):
        c = self.coll(req, cmd["find"])
        sort = list(cmd["sort"].items()) if cmd.get("sort") else None
        docs = list(c.find(cmd.get("filter", {}), cmd.get("projection"),
                           sort=sort, skip=cmd.get("skip", 0),
                           limit=abs(cmd.get("limit", 0))))
        if cmd.get("singleBatch"):
            cmd = dict(cmd, batchSize=len(docs))
        return self.cursor_reply(req, cmd["find"], docs, True,
                                 cmd.get("batchSize", 0))

    def get_more(self, req, cmd):
        docs = self.cursors.pop(int(cmd["getMore"]), None)
        if docs is None:
            return {"ok": 0, "code": 43, "errmsg": "cursor not found"}
        return self.cursor_reply(req, cmd["collection"], docs, False,
                                 cmd.get("batchSize", 0))

    def aggregate(self, req, cmd):
        c = self.coll(req, cmd["aggregate"])
        docs = list(c.aggregate(cmd.get("pipeline", [])))
        return self.cursor_reply(req, cmd["aggregate"], docs, True, 0)

    def handle(self, req):
        cmd = req.doc
        name = req.command_name or ""
        with self.lock:
            try:
                if name.lower() in ("ismaster", "hello"):
                    return req.replies(self.hello(req))
                if name in ("saslStart", "authenticate"):
                    return req.command_err(18, "Authentication failed.")
                if name in ("ping", "endSessions", "buildinfo", "buildInfo"):
                    return req.replies({"ok": 1})
                if name == "killCursors":
                    for cid in cmd.get("cursors", []):
                        self.cursors.pop(int(cid), None)
                    return req.replies({"ok": 1})
                handler = {"insert": self.insert, "delete": self.delete,
                           "createIndexes": self.create_indexes,
                           "find": self.find, "getMore": self.get_more,
                           "aggregate": self.aggregate}.get(name)
                if handler is None:
                    return req.command_err(59, "no such command: %s" % name)
                return req.replies(handler(req, cmd))
            except Exception as e:  # a bug here answers, never hangs
                return req.command_err(1, "stand-in: %r" % e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--journal")
    ap.add_argument("--ready-file")
    ap.add_argument("--require-auth", action="store_true")
    a = ap.parse_args()
    standin = Standin(a.journal, a.require_auth)
    server = mockupdb.MockupDB(port=a.port or None)
    server._address = ("127.0.0.1", a.port or None)
    server.autoresponds(standin.handle)
    port = server.run()
    print("port %d" % port, flush=True)
    if a.ready_file:
        with open(a.ready_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(a.ready_file + ".tmp", a.ready_file)
    threading.Event().wait()  # until killed


if __name__ == "__main__":
    sys.exit(main())
