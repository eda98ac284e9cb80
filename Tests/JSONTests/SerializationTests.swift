import JSON
import Testing

@Suite struct SerializationTests {
    static let compactTexts: [(value: JSON, text: String)] = [
        (.null, "null"),
        (true, "true"),
        (false, "false"),
        (0, "0"),
        (-42, "-42"),
        (.int(.max), "9223372036854775807"),
        (.int(.min), "-9223372036854775808"),
        (1.5, "1.5"),
        (1.0, "1.0"),
        (-0.0, "-0.0"),
        (0.1, "0.1"),
        (1e300, "1e+300"),
        (.double(.leastNonzeroMagnitude), "5e-324"),
        (.double(.infinity), "null"),
        (.double(-.infinity), "null"),
        (.double(.nan), "null"),
        ("", #""""#),
        ([], "[]"),
        ([:], "{}"),
        ([1, "two", nil, [false]], #"[1,"two",null,[false]]"#),
        (["b": 1, "a": ["d": 2, "c": 3]], #"{"a":{"c":3,"d":2},"b":1}"#),
    ]

    @Test(arguments: compactTexts)
    func writesCompactText(value: JSON, text: String) {
        #expect(value.serialized() == text)
    }

    @Test(arguments: [
        ("plain", #""plain""#),
        ("quote \" backslash \\ slash /", #""quote \" backslash \\ slash /""#),
        ("\n\t\r\u{08}\u{0C}", #""\n\t\r\b\f""#),
        ("\u{00}\u{01}\u{1F}\u{7F}", #""\u0000\u0001\u001f\#u{7F}""#),
        ("héllo wörld ✓ 🎉", #""héllo wörld ✓ 🎉""#),
    ])
    func escapesStrings(string: String, text: String) throws {
        #expect(JSON.string(string).serialized() == text)
        #expect(try JSON(parsing: text) == .string(string))
    }

    @Test func writesPrettyText() {
        let value: JSON = [
            "name": "br0",
            "mtu": 1500,
            "up": true,
            "addresses": ["10.0.0.1/24", "fd00::1/64"],
            "stats": [:],
            "peers": [],
            "options": ["stp": false],
        ]
        #expect(value.serialized(pretty: true) == """
            {
              "addresses": [
                "10.0.0.1/24",
                "fd00::1/64"
              ],
              "mtu": 1500,
              "name": "br0",
              "options": {
                "stp": false
              },
              "peers": [],
              "stats": {},
              "up": true
            }
            """)
    }

    @Test func prettyScalarsHaveNoNewline() {
        #expect(JSON.int(3).serialized(pretty: true) == "3")
    }
}

@Suite struct AccessorTests {
    let document: JSON = ["name": "br0", "mtu": 1500, "ratio": 2.0, "half": 0.5, "up": true, "none": nil, "list": [1, 2]]

    @Test func readsMembers() {
        #expect(document["name"]?.string == "br0")
        #expect(document["mtu"]?.int == 1500)
        #expect(document["mtu"]?.double == 1500)
        #expect(document["ratio"]?.int == 2)
        #expect(document["half"]?.int == nil)
        #expect(document["half"]?.double == 0.5)
        #expect(document["up"]?.bool == true)
        #expect(document["none"]?.isNull == true)
        #expect(document["missing"] == nil)
        #expect(document["list"]?[1]?.int == 2)
        #expect(document["list"]?[2] == nil)
        #expect(document["list"]?[-1] == nil)
        #expect(document["list"]?.array?.count == 2)
        #expect(document.object?.count == 7)
    }

    @Test func returnsNilForOtherKinds() {
        #expect(document["name"]?.int == nil)
        #expect(document["mtu"]?.string == nil)
        #expect(document["up"]?.int == nil)
        #expect(document[0] == nil)
        #expect(JSON.array([1])["key"] == nil)
        #expect(JSON.double(1e300).int == nil)
        #expect(JSON.string("x").isNull == false)
    }

    struct Bridge: JSONRepresentable {
        var name: String
        var mtu: Int64
        var json: JSON { ["name": .string(name), "mtu": .int(mtu)] }
    }

    @Test func describesRepresentableCollections() {
        let bridges = [Bridge(name: "br0", mtu: 1500)]
        #expect(bridges.json.serialized() == #"[{"mtu":1500,"name":"br0"}]"#)
        #expect(["a": Bridge(name: "br1", mtu: 9000)].json["a"]?["mtu"]?.int == 9000)
    }
}
