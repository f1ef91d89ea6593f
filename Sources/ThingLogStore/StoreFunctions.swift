import CSQLite
import Glibc
import ThingLogCore

/// The SQL functions every store connection carries (issue 13's compact raw archive): `reports_v` rebuilds each
/// payload from its shape and numbers, and the migration to schema 7 splits the stored payloads.
///
/// - `thinglog_payload(shape, content, received_at)`: the payload: `content` itself when `shape` is NULL (kept raw),
///   else the shape filled with the numbers in `content`; an error when they do not fit (a damaged row).
///   `thinglog_payload_if_intact` gives NULL for a damaged row instead (the writer's duplicate checks).
/// - `thinglog_shape(payload, received_at)`, `thinglog_numbers(payload, received_at)`: the two halves of
///   `PayloadShape(payload:receivedAt:)`, NULL when the payload is kept raw.
/// - `thinglog_shape_hash(shape)`: `ReportShapes.hash` of a shape (0 for NULL).
/// - `thinglog_check(condition, message)`: raises `message` as an error unless `condition` is true (migrations).
/// - `pow(x, y)`, only when the SQLite library has no math functions: the `ppm` view needs it (schema 10).
enum StoreFunctions {
    static func register(on handle: OpaquePointer) {
        let flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS
        if sqlite3_compileoption_used("ENABLE_MATH_FUNCTIONS") == 0 { registerPow(on: handle, name: "pow") }
        sqlite3_create_function_v2(handle, "thinglog_payload", 3, flags, nil, { context, _, arguments in
            StoreFunctions.payload(context, arguments, damagedIsError: true)
        }, nil, nil, nil)
        sqlite3_create_function_v2(handle, "thinglog_payload_if_intact", 3, flags, nil, { context, _, arguments in
            StoreFunctions.payload(context, arguments, damagedIsError: false)
        }, nil, nil, nil)
        sqlite3_create_function_v2(handle, "thinglog_shape", 2, flags, nil, { context, _, arguments in
            guard let context, let arguments else { return }
            guard let shape = StoreFunctions.shape(arguments) else { return sqlite3_result_null(context) }
            StoreFunctions.resultBlob(context, shape.shape)
        }, nil, nil, nil)
        sqlite3_create_function_v2(handle, "thinglog_numbers", 2, flags, nil, { context, _, arguments in
            guard let context, let arguments else { return }
            guard let shape = StoreFunctions.shape(arguments) else { return sqlite3_result_null(context) }
            StoreFunctions.resultBlob(context, shape.numbers)
        }, nil, nil, nil)
        sqlite3_create_function_v2(handle, "thinglog_shape_hash", 1, flags, nil, { context, _, arguments in
            guard let context, let arguments else { return }
            let isNull = sqlite3_value_type(arguments[0]) == SQLITE_NULL
            sqlite3_result_int64(context, isNull ? 0 : ReportShapes.hash(StoreFunctions.bytes(arguments[0])))
        }, nil, nil, nil)
        sqlite3_create_function_v2(handle, "thinglog_check", 2, SQLITE_UTF8, nil, { context, _, arguments in
            guard let context, let arguments else { return }
            if sqlite3_value_int64(arguments[0]) != 0 { return sqlite3_result_int64(context, 1) }
            let message = sqlite3_value_text(arguments[1]).map { String(cString: $0) } ?? "check failed"
            sqlite3_result_error(context, message, -1)
        }, nil, nil, nil)
    }

    /// SQLite's own `pow` (the C library's, NULL unless both arguments are numbers; a NaN result is NULL), for a
    /// library built without math functions.
    static func registerPow(on handle: OpaquePointer, name: String) {
        sqlite3_create_function_v2(handle, name, 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nil, {
            context, _, arguments in
            guard let context, let arguments else { return }
            for index in 0..<2 {
                let type = sqlite3_value_numeric_type(arguments[index])
                guard type == SQLITE_INTEGER || type == SQLITE_FLOAT else { return sqlite3_result_null(context) }
            }
            sqlite3_result_double(context, Glibc.pow(sqlite3_value_double(arguments[0]),
                                                     sqlite3_value_double(arguments[1])))
        }, nil, nil, nil)
    }

    /// The payload of a reports row (see the type's comment); a damaged row is an error, or NULL for the writer's
    /// duplicate checks (a damaged row must not stop the messages that are compared with it).
    static func payload(_ context: OpaquePointer?, _ arguments: UnsafeMutablePointer<OpaquePointer?>?,
                        damagedIsError: Bool) {
        guard let context, let arguments else { return }
        guard sqlite3_value_type(arguments[0]) != SQLITE_NULL else {
            return sqlite3_result_value(context, arguments[1])
        }
        let shape = PayloadShape(shape: bytes(arguments[0]), numbers: bytes(arguments[1]))
        guard let payload = shape.payload(receivedAt: sqlite3_value_int64(arguments[2])) else {
            guard damagedIsError else { return sqlite3_result_null(context) }
            return sqlite3_result_error(context, "a reports row is damaged: its numbers do not fit its shape", -1)
        }
        resultText(context, payload)
    }

    /// The shape of the payload `arguments[0]` received at `arguments[1]`; nil for NULL or a payload kept raw.
    static func shape(_ arguments: UnsafeMutablePointer<OpaquePointer?>) -> PayloadShape? {
        guard sqlite3_value_type(arguments[0]) != SQLITE_NULL else { return nil }
        return PayloadShape(payload: bytes(arguments[0]), receivedAt: sqlite3_value_int64(arguments[1]))
    }

    /// The value's bytes (text or blob), as stored.
    static func bytes(_ value: OpaquePointer?) -> [UInt8] {
        let base = sqlite3_value_blob(value)   // first, then its size (SQLite's rule)
        let count = Int(sqlite3_value_bytes(value))
        guard count > 0, let base else { return [] }
        return Array(UnsafeRawBufferPointer(start: base, count: count))
    }

    static func resultText(_ context: OpaquePointer, _ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                sqlite3_result_text64(context, $0.baseAddress ?? UnsafePointer(bitPattern: 1), sqlite3_uint64($0.count),
                                      thinglog_sqlite_transient(), UInt8(SQLITE_UTF8))
            }
        }
    }

    static func resultBlob(_ context: OpaquePointer, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes {
            sqlite3_result_blob64(context, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), sqlite3_uint64($0.count),
                                  thinglog_sqlite_transient())
        }
    }
}
