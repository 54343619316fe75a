/// The one rule for output names derived from input names: `relative` (a path below an output
/// folder, "/"-separated) with empty components dropped, or nil if it could name anything
/// outside that folder or the folder itself. Refused: an absolute path, a `..` component
/// (escapes), a `.` component (names the folder or makes two spellings of one output, so two
/// inputs could claim one file unnoticed), an empty path, and a NUL byte (cut by the system).
///
/// Of the two rules this replaces, this is the stricter one (the folder pipeline's); the CLI's
/// allowed `.` components, which no input name from a folder scan contains, so nothing it
/// accepted in use is refused now.
public func safeRelativeOutputPath(_ relative: String) -> String? {
    let parts = relative.split(separator: "/", omittingEmptySubsequences: true)
    guard !parts.isEmpty, !relative.hasPrefix("/"), !relative.utf8.contains(0),
          !parts.contains(".."), !parts.contains(".") else { return nil }
    return parts.joined(separator: "/")
}

/// The one line for a file that was found but not used (unreadable, not an image, refused):
/// `<path>: <reason>`. Tools prefix their name (`img2img: `) when they print it.
public func skippedFileMessage(path: String, reason: String) -> String {
    "\(path): \(reason)"
}
