// Empty in a development build; scripts/build-release writes the commit and date here for the release build and
// restores this file afterwards.
enum BuildStamp {
    static let commit = ""
    static let date = ""
}
