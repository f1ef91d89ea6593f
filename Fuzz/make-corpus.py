#!/usr/bin/env python3
"""Writes the seed corpora in Fuzz/corpus/<target>/ (committed; rerun after changing this file).
Seeds: real payloads (../shared/data/sample-reports.jsonl, protocol.md's examples, the built-in configuration) and
hostile inputs: extreme and non-numeric timestamps, huge values, 300 params, duplicate keys, decomposed device
names, topics with wildcards, NUL and over-long levels, MQTT QoS 2, a refused SUBACK and a 5-byte remaining length.
Usage: Fuzz/make-corpus.py [SHARED_DATA_DIR]   (default ../shared/data)"""
import json, os, re, shutil, struct, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
corpus = os.path.join(root, "Fuzz", "corpus")
shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "data")

FIXED_NOW = 1_764_000_000_000
TOPIC = "$thing/up/property/CS0SLTKSYA/dev1"

def write(target, name, data):
    os.makedirs(os.path.join(corpus, target), exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    with open(os.path.join(corpus, target, name), "wb") as f:
        f.write(data)

def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

with open(os.path.join(shared, "sample-reports.jsonl"), encoding="utf-8") as f:
    sample_lines = [line.rstrip("\n") for line in f][:12]
sample_records = [json.loads(line) for line in sample_lines]

# Payloads (protocol.md §2 and §7 examples, then hostile ones), as text.
payloads = {
    "report": sample_records[0]["payload"],
    "report-protocol": '{"method":"report","clientToken":"CS0SLTKSYA-17","timestamp":1700000000123,'
                       '"params":{"MQ2":412,"MQ135":88,"MQ4":230,"MQ7":35,"DHT11_T":24,"DHT11_H":51}}',
    "report-seconds": '{"method":"report","clientToken":"123","timestamp":1764000000,"params":{"MQ7":35,"flag":true}}',
    "report-no-timestamp": '{"method":"report","params":{"MQ2":412.5,"MQ7":-1,"DHT11_T":"24","s":{"a":1},"l":[1]}}',
    "event-post": '{"method":"event_post","clientToken":"CS0SLTKSYA-5","version":"1.0","eventId":"gas_alarm",'
                  '"type":"alert","timestamp":1700000000123,"params":{"MQ2":9000}}',
    "events-post": '{"method":"events_post","clientToken":"c","events":[{"eventId":"gas_alarm","type":"fault",'
                   '"timestamp":1764000000123,"params":{"MQ2":1}},{"eventId":"x","timestamp":-9500000000000000}]}',
    "report-reply": '{"method":"report_reply","clientToken":"123","code":0,"status":"success"}',
    "action": '{"method":"action","clientToken":"t","actionId":"a","timestamp":1611666092,"params":{"x":1}}',
    "ts-minus-9.5e15": '{"method":"report","timestamp":-9500000000000000,"params":{"MQ7":1}}',
    "ts-1e308": '{"method":"report","timestamp":1e308,"params":{"MQ7":1}}',
    "ts-minus-1e308": '{"method":"report","timestamp":-1e308,"params":{"MQ7":1}}',
    "ts-1.5e15": '{"method":"report","timestamp":1.5e15,"params":{"MQ7":1}}',
    "ts-abc": '{"method":"report","timestamp":"abc","params":{"MQ7":1}}',
    "ts-99999999999": '{"method":"report","timestamp":99999999999,"params":{"MQ7":1}}',
    "ts-1e309": '{"method":"report","timestamp":1e309,"params":{"MQ7":1}}',
    "values-1e17": '{"method":"report","timestamp":1e17,"params":{"MQ7":1e17,"MQ2":-1e17,"MQ4":1e308,'
                   '"DHT11_T":4.9e-324}}',
    "params-300-keys": compact({"method": "report", "params": {f"p{i}": i for i in range(300)}}),
    "duplicate-keys": '{"method":"report","method":"x","params":{"a":1,"a":2}}',
    "duplicate-keys-report-last": '{"method":"x","method":"report","params":{"a":1},"params":{"a":2}}',
    "escapes": '{"method":"report","params":{"caf\\u00e9":1,"\\ud83d\\ude00":2,"a\\u0000b":3,"\\t":4}}',
    "not-object": '[{"method":"report"}]',
    "deep": "[" * 70 + "]" * 70,
}

topics = {
    "plain": TOPIC,
    "event": "$thing/up/event/CS0SLTKSYA/dev1",
    "decomposed": "$thing/up/property/CS0SLTKSYA/cafe\u0301",
    "plus": "$thing/up/property/+/dev1",
    "hash": "$thing/up/property/CS0SLTKSYA/#",
    "nul": "$thing/up/property/CS0SLTKSYA/de\u0000v1",
    "level-70": "$thing/up/property/CS0SLTKSYA/" + "d" * 70,
    "level-64": "$thing/up/property/" + "P" * 64 + "/dev1",
    "down": "$thing/down/action/CS0SLTKSYA/dev1",
    "six-levels": "$thing/up/property/CS0SLTKSYA/dev1/x",
}

for target in os.listdir(corpus) if os.path.isdir(corpus) else []:
    shutil.rmtree(os.path.join(corpus, target))

# json: payloads, records, configuration, template, invalid UTF-8.
for name, text in payloads.items():
    write("json", name, text)
write("json", "jsonl-record", sample_lines[0])
write("json", "template", open(os.path.join(shared, "template-CS0SLTKSYA.json"), "rb").read())
for name, data in {"overlong": b'"\xc0\xaf"', "surrogate": b'"\xed\xa0\x80"', "above-10ffff": b'"\xf4\x90\x80\x80"',
                   "truncated": b'{"a":"\xe2\x82"}', "lone-surrogate-escape": b'"\\ud800"',
                   "numbers": b"[0,-0,1.5e-400,-1e-7,123456789012345678901234567890,0.1e1,1E+2]"}.items():
    write("json", name, data)

# report: 8-byte little-endian receive time, topic, newline, payload.
def report_input(received_at, topic, payload):
    return struct.pack("<q", received_at) + topic.encode("utf-8") + b"\n" + payload.encode("utf-8")

for name, text in payloads.items():
    write("report", name, report_input(FIXED_NOW, TOPIC, text))
for name, topic in topics.items():
    write("report", "topic-" + name, report_input(FIXED_NOW, topic, payloads["report-protocol"]))
for name, time in {"max": 2**63 - 1, "min": -2**63, "zero": 0, "minus-one": -1, "far": 9_000_000_000_000_000}.items():
    write("report", "received-" + name, report_input(time, TOPIC, payloads["report-protocol"]))
    write("report", "received-" + name + "-events", report_input(time, topics["event"], payloads["events-post"]))

# ingest-*: whole files.
def jsonl(topic, received_at, payload, as_object=False):
    record = {"topic": topic}
    if received_at is not None:
        record["received_at"] = received_at
    record["payload"] = json.loads(payload) if as_object else payload
    return compact(record)

write("ingest-jsonl", "sample", "\n".join(sample_lines) + "\n")
write("ingest-jsonl", "sample-crlf-blank", "\r\n".join(sample_lines[:3]) + "\r\n\r\n  \t\n" + sample_lines[3])
write("ingest-jsonl", "object-payloads", "\n".join(jsonl(TOPIC, FIXED_NOW, p, True) for p in
                                                   (payloads["report-protocol"], payloads["events-post"])) + "\n")
received = {"minus-9.5e15": -9500000000000000, "1e308": 1e308, "minus-1e308": -1e308, "1.5e15": 1.5e15,
            "abc": "abc", "iso": "2026-11-26T08:00:13.515Z", "iso-offset": "2026-11-26 08:00:13,5+0800",
            "iso-extreme": "9999-12-31T23:59:59.999-23:59", "iso-zero": "0000-01-01T00:00+23:59", "null": None,
            "9.99e15": 9.99e15, "minus-9.99e15": -9.99e15, "bool": True}
for name, value in received.items():
    write("ingest-jsonl", "received-" + name, jsonl(TOPIC, value, payloads["report-protocol"]))
for name, text in payloads.items():
    if name.startswith(("ts-", "values", "params", "duplicate")):
        write("ingest-jsonl", name, jsonl(TOPIC, FIXED_NOW, text))
for name, topic in topics.items():
    write("ingest-jsonl", "topic-" + name, jsonl(topic, FIXED_NOW, payloads["report-protocol"]))
write("ingest-jsonl", "no-topic", '{"received_at":1,"payload":"{}"}')
write("ingest-jsonl", "long-line", jsonl(TOPIC, FIXED_NOW, compact({"method": "report", "params": {
    f"p{i}": i for i in range(900)}})) + "\n" + sample_lines[0])

write("ingest-mosquitto", "sample", "\n".join(f"{r['topic']} {r['payload']}" for r in sample_records) + "\n")
for name, text in payloads.items():
    write("ingest-mosquitto", name, f"{TOPIC} {text}\n")
for name, topic in topics.items():
    write("ingest-mosquitto", "topic-" + name, f"{topic} {payloads['report-protocol']}\r\n")
write("ingest-mosquitto", "invalid-utf8-topic", b"$thing/up/property/P/\xff\xfe " + payloads["report"].encode())

write("ingest-payload", "sample", "\n".join(r["payload"] for r in sample_records) + "\n")
for name, text in payloads.items():
    write("ingest-payload", name, text + "\n")
write("ingest-payload", "invalid-utf8", b'{"method":"report","params":{"\xc0\xaf":1}}\n\xff\n')

def forward(payload, timestamp, topic=TOPIC, device="dev1", product="CS0SLTKSYA", with_topic=True):
    record = {"payload": json.loads(payload), "seq": 10498444, "timestamp": timestamp}
    if with_topic:
        record["topic"] = topic
    record["devicename"] = device
    record["productid"] = product
    return compact(record)

write("ingest-forward", "protocol", '{"payload":{"clientToken":"DEP0000YAS4-38","method":"report","params":'
      '{"brightness":58}},"seq":10498444,"timestamp":1579055948,"topic":"$thing/up/property/DEP0000YAS4/dev001",'
      '"devicename":"dev001","productid":"DEP0000YAS4"}\n')
write("ingest-forward", "sample", "\n".join(forward(r["payload"], r["received_at"] // 1000, r["topic"])
                                            for r in sample_records) + "\n")
for name, stamp in {"1e308": 1e308, "minus-1e308": -1e308, "1.5e15": 1.5e15, "abc": "abc", "9.99e15": 9.99e15,
                    "minus-9.5e15": -9500000000000000, "99999999999": 99999999999, "ms": FIXED_NOW,
                    "tiny": 1e-300}.items():
    write("ingest-forward", "timestamp-" + name, forward(payloads["report-protocol"], stamp))
for name, text in payloads.items():
    if name.startswith(("ts-", "values", "params", "duplicate", "event")):
        write("ingest-forward", name, forward(text, 1764000000))
for name, device in {"decomposed": "cafe\u0301", "plus": "+", "hash": "#", "nul": "de\u0000v1",
                     "level-70": "d" * 70}.items():
    write("ingest-forward", "device-" + name, forward(payloads["report-protocol"], 1764000000, device=device,
                                                      with_topic=False))
write("ingest-forward", "string-payload", compact({"payload": payloads["report-protocol"], "timestamp": 1764000000,
                                                   "topic": TOPIC}))

# mqtt: what a broker sends, as bytes.
def remaining(length):
    out = bytearray()
    while True:
        byte, length = length % 128, length // 128
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out)

def packet(header, body):
    return bytes([header]) + remaining(len(body)) + body

def string(text):
    data = text.encode("utf-8")
    return struct.pack(">H", len(data)) + data

def publish(topic, payload, qos=0, packet_id=1, dup=False, retain=False):
    header = 0x30 | (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    return packet(header, string(topic) + (struct.pack(">H", packet_id) if qos else b"") + payload.encode())

connack = packet(0x20, b"\x00\x00")
# The fuzz session publishes (packet id 2) before CONNACK, so it subscribes with packet id 3.
suback = packet(0x90, b"\x00\x03\x01\x01")
session = connack + suback
report = payloads["report-protocol"]
write("mqtt", "connack", connack)
write("mqtt", "session-qos1", session + publish(TOPIC, report, 1, 7) + publish(TOPIC, report, 1, 8, dup=True)
      + packet(0x40, b"\x00\x02") + packet(0xD0, b""))
write("mqtt", "session-qos0", session + publish(TOPIC, report) + publish(topics["event"], payloads["event-post"]))
write("mqtt", "publish-qos2", session + publish(TOPIC, report, 2, 9))
write("mqtt", "publish-qos3", session + bytes([0x36]) + remaining(len(string(TOPIC)) + 2) + string(TOPIC) + b"\x00\x01")
write("mqtt", "pubrec-pubrel-pubcomp", session + packet(0x50, b"\x00\x09") + packet(0x62, b"\x00\x09")
      + packet(0x70, b"\x00\x09"))
write("mqtt", "suback-0x80", connack + packet(0x90, b"\x00\x03\x01\x80"))
write("mqtt", "suback-bad-code", connack + packet(0x90, b"\x00\x03\x03"))
write("mqtt", "suback-wrong-id", connack + packet(0x90, b"\x00\x04\x01\x01"))
write("mqtt", "remaining-length-5-bytes", bytes([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]) + b"\x00")
write("mqtt", "remaining-length-max", bytes([0x30, 0xFF, 0xFF, 0xFF, 0x7F]) + string(TOPIC) + b"x" * 16)
write("mqtt", "remaining-length-non-minimal", bytes([0x20, 0x82, 0x00, 0x00, 0x00]))
write("mqtt", "connack-refused-5", packet(0x20, b"\x00\x05"))
write("mqtt", "connack-unavailable", packet(0x20, b"\x00\x03") + connack + suback)
write("mqtt", "connack-session-present", packet(0x20, b"\x01\x00") + publish(TOPIC, report, 1, 2))
write("mqtt", "connack-twice", connack + connack)
write("mqtt", "publish-topic-wildcards", session + publish("$thing/up/property/+/dev1", report)
      + publish("$thing/#", report))
write("mqtt", "publish-topic-nul", session + publish("$thing/up/property/P/de\u0000v1", report))
write("mqtt", "publish-topic-level-70", session + publish("$thing/up/property/CS0SLTKSYA/" + "d" * 70, report, 1, 5))
write("mqtt", "publish-decomposed", session + publish("$thing/up/property/CS0SLTKSYA/cafe\u0301", report, 1, 6))
write("mqtt", "publish-packet-id-0", session + publish(TOPIC, report, 1, 0))
write("mqtt", "publish-oversized", session + publish(TOPIC, "x" * 1500, 1, 11) + packet(0xD0, b""))
write("mqtt", "client-only-packets", session + packet(0x82, b"\x00\x01" + string("$thing/#") + b"\x01")
      + packet(0xA2, b"\x00\x01" + string("a/+")) + packet(0xC0, b"") + packet(0xE0, b""))
write("mqtt", "connect", packet(0x10, string("MQTT") + b"\x04\xc2\x00\x3c" + string("id") + string("u")
                                + string("p")))
write("mqtt", "unsuback-pingresp", session + packet(0xB0, b"\x00\x05") + packet(0xD0, b"") + packet(0xD0, b""))
write("mqtt", "reserved-type", packet(0x00, b"") + packet(0xF0, b""))

# config: the built-in configuration, the bench one, and hostile ones.
source = open(os.path.join(root, "Sources", "ThingLogCore", "Config", "DefaultConfiguration.swift"),
              encoding="utf-8").read()
default = re.search(r'"""\n(.*?)\n\s*"""', source, re.S).group(1)
write("config", "default", "\n".join(line[4:] for line in default.splitlines()))
write("config", "bench", open(os.path.join(root, "scripts", "bench-config.json"), "rb").read())
write("config", "empty-object", "{}")
write("config", "template", open(os.path.join(shared, "template-CS0SLTKSYA.json"), "rb").read())
configs = {
    "warmup-huge": {"warmup": "1e14d"},
    "warmup-fraction": {"warmup": "0.5ms", "windows": ["1.5s", "0m", "1e400s", "5m", "5m"]},
    "bits-33": {"sensors": {"MQ7": {"input": {"kind": "adc", "bits": 33}}}},
    "bits-fraction": {"sensors": {"MQ7": {"input": {"kind": "adc", "bits": 9.5, "vref": -1}}}},
    "input-kinds": {"sensors": {"MQ2": {"input": {"kind": "volts"}}, "MQ4": {"input": {"kind": "percent", "vref": 3.3}},
                                "MQ7": {"input": {"kind": "ohms"}, "heater_cycle": {"offset": "90s"}},
                                "MQ135": {"input": {"kind": "ratio"}, "r0_ohms": 1e308, "gases": ["CO2", "NH4"]}}},
    "unknown-model": {"sensors": {"X": {"model": "MQ999"}}},
    "alarms": {"windows": ["5m"], "alarms": [
        {"name": "a", "metric": "MQ7.CO@5m", "above": 1e308, "clear": -1e308, "for": "1e13ms"},
        {"name": "b", "kind": "stale", "after": "0s"},
        {"name": "c", "kind": "stuck", "metric": "MQ2@twa8h", "for": "30m"},
        {"name": "d", "metric": "MQ7.CO@stel15m", "below": 1, "clear": 2, "severity": "critical"}]},
    "alarms-duplicate-name": {"alarms": [{"name": "x", "kind": "stale", "after": "1m"},
                                         {"name": "x", "kind": "stale", "after": "2m"}]},
    "template-relative": {"template": "templates/CS0SLTKSYA.json", "compensation": {"enabled": True}},
    "template-missing": {"template": "nope.json"},
}
for name, value in configs.items():
    write("config", name, json.dumps(value, ensure_ascii=False))
write("config", "duplicate-keys", '{"warmup":"1m","warmup":"2m","sensors":{"MQ7":{},"MQ7":{"vc":3.3}}}')
write("config", "not-object", '["sensors"]')
write("config", "invalid-utf8", b'{"warmup":"1\xffm"}')
# The config target also reads its bytes as a TZif zone file and its strings as POSIX TZ rules (ZoneInfo).
for zone in ["Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu"]:
    write("config", "tzif-" + zone.split("/")[1].lower(), open("/usr/share/zoneinfo/" + zone, "rb").read())
write("config", "posix-rules", json.dumps({"tz": ["CET-1CEST,M3.5.0,M10.5.0/3", "<+0545>-5:45",
                                                  "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
                                                  "IST-1GMT0,M10.5.0,M3.5.0/1", "EST5EDT,0/0,J365/25",
                                                  "XXX3YYY,J60/167,300/-167:59:59"]}))

# http: requests as the platform's forwarding and a scraper send them, pipelined, chunked, HTTP/1.0.
write("http", "pipelined", b"POST /thinglog/forward?Signature=ab&Timestamp=1 HTTP/1.1\r\nHost: h\r\n"
      b"Content-Length: 5\r\n\r\nhelloGET /metrics HTTP/1.1\r\nHost: h\r\n\r\n")
write("http", "chunked", b"POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      b"5;x=1\r\nhello\r\n0\r\nT: 1\r\n\r\n")
write("http", "http10", b"GET /p HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
envelope = forward(payloads["report-protocol"], 1764000000).encode()
write("http", "forward", b"POST /thinglog/forward HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n"
      % len(envelope) + envelope)
# A fuzzer find: a signed chunk size, once read as a negative length.
write("http", "signed-chunk-size", b"POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-6;x\r\nabc")
