namespace AnalysisFacility.Operator.IntegrationTests.Support;

/// <summary>
/// Runs a program that must trust a test CA for HTTPS through libcurl. scitokens-cpp 0.7 and libcurl honour no CA
/// environment variable (libcurl pins the CA bundle compiled into it), so the program runs in a private mount
/// namespace where the test CA is bind-mounted over the bundle path; the system trust store itself is never modified
/// and other processes never see the change.
/// </summary>
public static class TestCaTrust
{
    public const string SystemBundle = "/etc/ssl/certs/ca-certificates.crt";

    public static (string FileName, IReadOnlyList<string> Arguments) Command(string caBundlePath, string program, IEnumerable<string> arguments) =>
        (Programs.Require("unshare"),
            ["--mount", "--propagation", "private", "/bin/sh", "-c",
             $"mount --bind \"$0\" {SystemBundle} && exec \"$@\"", caBundlePath, program, .. arguments]);
}
