namespace AnalysisFacility.Operator.Tests;

/// <summary>Finds the checkout's root (the folder with the solution file) from the test binaries.</summary>
public static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(System.IO.Path.Combine(directory.FullName, "AnalysisFacility.Operator.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("solution root not found above " + AppContext.BaseDirectory);
    }
}
