using AnalysisFacility.Operator.Runtime.Client;
using YamlDotNet.Serialization;

namespace AnalysisFacility.Operator.Tests.Runtime;

public class PlainYamlTests
{
    [Fact]
    public void Writes_what_YamlDotNets_reflection_serializer_wrote_for_maps_lists_and_scalars()
    {
        // Every shape the client files, the CRDs and render write: strings a reader would retype, blanks, several lines,
        // special characters, numbers, flags, nulls, empty and nested maps and lists.
        var tree = new Dictionary<string, object?>
        {
            ["plain"] = "scheduler.ns.svc:8786", ["flag"] = "true", ["number"] = "123", ["float"] = "0.5", ["tilde"] = "~",
            ["empty"] = "", ["blank"] = " lead", ["lines"] = "first\nsecond\n", ["colon"] = "a: b", ["hash"] = "#x", ["dash"] = "- x",
            ["quote"] = "it's", ["tab"] = "a\tb", ["long"] = new string('x', 150) + " " + new string('y', 90),
            ["null"] = null, ["yes"] = true, ["int"] = 42, ["long-int"] = 9_000_000_000L, ["double"] = 1.5, ["huge"] = 1e20,
            ["list"] = new List<object?> { "x", 1L, new Dictionary<string, object?> { ["n"] = "v", ["none"] = new List<object>() } },
            ["map"] = new Dictionary<string, object>(), ["true"] = "a key that reads as a flag",
        };
        var reflection = new SerializerBuilder().DisableAliases().WithQuotingNecessaryStrings().Build();

        PlainYaml.Serialize(tree).Should().Be(reflection.Serialize(tree));
    }

    [Fact]
    public void Refuses_what_is_not_a_tree_of_maps_lists_and_scalars()
    {
        var write = () => PlainYaml.Serialize(new Dictionary<string, object> { ["when"] = DateTime.UnixEpoch });

        write.Should().Throw<ArgumentException>().WithMessage("*DateTime*");
    }
}
