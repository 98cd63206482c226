import Testing
@testable import Notifications
@Test func placeholder() {}
