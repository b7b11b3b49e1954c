/// A failure while writing output (exit status 1). Names the file, never log content.
struct GeneratorError: Error {
    var message: String
}
