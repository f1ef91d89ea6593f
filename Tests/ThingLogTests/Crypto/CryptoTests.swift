import Testing
@testable import ThingLogCore

/// Published vectors: FIPS 180-4 examples (via NIST CSRC), RFC 4231 (HMAC-SHA-256), RFC 2202 (HMAC-SHA-1),
/// RFC 4648 (base64) and the worked login example of protocol.md §4.
@Suite struct CryptoTests {
    static let long448 = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)

    @Test func sha256() {
        #expect(hexString(SHA256.hash(Array("abc".utf8)))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hexString(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hexString(SHA256.hash(Self.long448))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(hexString(SHA256.hash([UInt8](repeating: 0x61, count: 1_000_000)))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func sha1() {
        #expect(hexString(SHA1.hash(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hexString(SHA1.hash([])) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(hexString(SHA1.hash(Self.long448)) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(hexString(SHA1.hash([UInt8](repeating: 0x61, count: 1_000_000)))
                == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test func incrementalHashingEqualsOneShot() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        for split in [0, 1, 55, 56, 63, 64, 65, 999] {
            var hasher = SHA256()
            hasher.update(data[..<split])
            hasher.update(data[split...])
            #expect(hasher.finalize() == SHA256.hash(data))
        }
    }

    @Test func hmacSHA256RFC4231() {
        func mac(_ key: [UInt8], _ data: [UInt8]) -> String {
            hexString(HMAC<SHA256>.authenticationCode(for: data, key: key))
        }
        let largeKeyText = Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)
        #expect(mac([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8))
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(mac(Array("Jefe".utf8), Array("what do ya want for nothing?".utf8))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(mac([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50))
                == "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe")
        #expect(mac([UInt8](repeating: 0xaa, count: 131), largeKeyText)
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        #expect(mac([UInt8](repeating: 0xaa, count: 131), Array(("This is a test using a larger than block-size key "
            + "and a larger than block-size data. The key needs to be hashed before being used by the HMAC "
            + "algorithm.").utf8))
                == "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2")
    }

    @Test func hmacSHA1RFC2202() {
        func mac(_ key: [UInt8], _ data: [UInt8]) -> String {
            hexString(HMAC<SHA1>.authenticationCode(for: data, key: key))
        }
        #expect(mac([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8))
                == "b617318655057264e28bc0b6fb378c8ef146be00")
        #expect(mac(Array("Jefe".utf8), Array("what do ya want for nothing?".utf8))
                == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
        #expect(mac([UInt8](repeating: 0xaa, count: 80),
                    Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
                == "aa4ae5e15272d00e95705637ce8a3b55ed402112")
    }

    @Test func base64RFC4648() {
        let vectors = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
                       ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
        }
        for bad in ["Zg=", "Z===", "Zm9v!", "Zg==Zg==", "=Zg="] { #expect(Base64.decode(bad) == nil, "\(bad)") }
    }

    @Test func tencentWorkedExample() throws {
        let login = try TencentCredentials(product: "CS0SLTKSYA", device: "dev1", psk: "IyXmUW5sU/q1vnb5yzTkeQ==",
                                           connectionID: "ZR5GT", expiry: 2_623_045_740)
        #expect(login.clientID == "CS0SLTKSYAdev1")
        #expect(login.username == "CS0SLTKSYAdev1;12010126;ZR5GT;2623045740")
        #expect(login.password == "2debdc61b009ef8d09597f106f6f8ca36f101415459b0623780a81e711e7257c;hmacsha256")
        #expect(login.host == "CS0SLTKSYA.iotcloud.tencentdevices.com")
        // Keying with the undecoded base64 text gives another (wrong) password.
        let wrong = hexString(HMAC<SHA256>.authenticationCode(for: Array(login.username.utf8),
                                                              key: Array("IyXmUW5sU/q1vnb5yzTkeQ==".utf8)))
        #expect(!login.password.hasPrefix(wrong))
        let sha1 = try TencentCredentials(product: "CS0SLTKSYA", device: "dev1", psk: "IyXmUW5sU/q1vnb5yzTkeQ==",
                                          connectionID: "ZR5GT", expiry: 2_623_045_740, signature: .hmacsha1)
        #expect(sha1.password.hasSuffix(";hmacsha1") && sha1.password.count == 40 + 9)
    }
}
