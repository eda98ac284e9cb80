import IPAM
import JSON
import Netlink
import Testing
@testable import SwnetCore

@Suite("Records: dual-stack networks and attachments, and records written before dual stack")
struct RecordTests {
    @Test func aNetworkRecordWithOneSubnetStillReads() throws {
        let old = try JSON(parsing: #"{"name":"n1","subnet":"10.1.0.0/24","gateway":"10.1.0.1","bridge":"n1","managesBridge":true,"created":5}"#)
        let network = try NetworkDefinition(json: old)
        #expect(network.subnets == [IPNetwork("10.1.0.0/24")!])
        #expect(network.gateways == [IPAddress("10.1.0.1")!])
        #expect(network.subnet(.v6) == nil && network.gateway(.v6) == nil)
        let noGateway = try NetworkDefinition(json: JSON(parsing: #"{"name":"n2","subnet":"10.2.0.0/24","gateway":null,"bridge":"n2"}"#))
        #expect(noGateway.gateways.isEmpty)
    }

    @Test func aDualStackNetworkKeepsBothFamiliesIPv4First() throws {
        let network = NetworkDefinition(name: "d", subnets: [IPNetwork("fd00:1::/64")!, IPNetwork("10.1.0.0/24")!],
                                        gateways: [IPAddress("fd00:1::1")!, IPAddress("10.1.0.1")!], bridge: "d",
                                        mtu: nil, managesBridge: true, created: 0)
        #expect(network.subnets.map(\.family) == [.v4, .v6])
        #expect(network.subnet(.v6) == IPNetwork("fd00:1::/64"))
        #expect(network.gateway(.v6) == IPAddress("fd00:1::1"))
        let json = network.json
        // Older readers and scripts see the IPv4 subnet where they always looked.
        #expect(json["subnet"]?.string == "10.1.0.0/24" && json["gateway"]?.string == "10.1.0.1")
        #expect(json["subnets"]?.array?.compactMap(\.string) == ["10.1.0.0/24", "fd00:1::/64"])
        #expect(try NetworkDefinition(json: JSON(parsing: json.serialized())) == network)
    }

    @Test func aNetworkRecordWithTwoSubnetsOfOneFamilyIsDamaged() throws {
        let record = try JSON(parsing: #"{"name":"n","subnets":["10.1.0.0/24","10.2.0.0/24"],"gateways":[],"bridge":"n"}"#)
        #expect(throws: SwnetError.self) { try NetworkDefinition(json: record) }
        let empty = try JSON(parsing: #"{"name":"n","subnets":[],"gateways":[],"bridge":"n"}"#)
        #expect(throws: SwnetError.self) { try NetworkDefinition(json: empty) }
    }

    @Test func attachmentsReadOldRecordsAndWriteBothForms() throws {
        let old = try JSON(parsing: #"{"network":"n","namespace":"1-2","hostInterface":"h","containerInterface":"eth0","address":"10.1.0.2/24","gateway":"10.1.0.1","phase":"active"}"#)
        let attachment = try Attachment(json: old)
        #expect(attachment.addresses == [InterfaceAddress("10.1.0.2/24")!] && attachment.gateways == [IPAddress("10.1.0.1")!])

        var dual = attachment
        dual.addresses = [InterfaceAddress("10.1.0.2/24")!, InterfaceAddress("fd00:1::2/64")!]
        dual.gateways = [IPAddress("10.1.0.1")!, IPAddress("fd00:1::1")!]
        #expect(dual.address(.v6) == InterfaceAddress("fd00:1::2/64") && dual.gateway(.v6) == IPAddress("fd00:1::1"))
        let json = dual.json
        #expect(json["address"]?.string == "10.1.0.2/24" && json["gateway"]?.string == "10.1.0.1")
        #expect(json["addresses"]?.array?.compactMap(\.string) == ["10.1.0.2/24", "fd00:1::2/64"])
        #expect(try Attachment(json: JSON(parsing: json.serialized())) == dual)
    }

    @Test func aMACIsTypedInTheRecordAndTheSameTextInItsJSON() throws {
        let text = #"{"network":"n","namespace":"1-2","hostInterface":"h","containerInterface":"eth0","mac":"02:aa:0b:cc:0d:ee","address":"10.1.0.2/24","phase":"active"}"#
        let attachment = try Attachment(json: JSON(parsing: text))
        #expect(attachment.mac == MACAddress(bytes: [0x02, 0xaa, 0x0b, 0xcc, 0x0d, 0xee]))
        #expect(attachment.json["mac"]?.string == "02:aa:0b:cc:0d:ee")
        #expect(try Attachment(json: JSON(parsing: attachment.json.serialized())) == attachment)
    }
}
