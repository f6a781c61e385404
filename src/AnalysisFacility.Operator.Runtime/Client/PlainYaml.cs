using System.Collections;
using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace AnalysisFacility.Operator.Runtime.Client;

/// <summary>
/// Writes a tree of maps (<see cref="IDictionary"/> with string keys), lists and scalars (string, bool, integers, double,
/// null) as YAML through YamlDotNet's emitter, with the events its serializer makes with
/// <c>WithQuotingNecessaryStrings</c>: the same text, without the serializer's reflection over types (NativeAOT).
/// Strings a YAML reader would take for another type (true, 123, null, ~, blank) are double-quoted.
/// </summary>
public static partial class PlainYaml
{
    public static string Serialize(object? tree)
    {
        var text = new StringWriter(CultureInfo.InvariantCulture);
        var emitter = new Emitter(text);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, isImplicit: true));
        Write(emitter, tree);
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        return text.ToString();
    }

    private static void Write(IEmitter emitter, object? value)
    {
        switch (value)
        {
            case null:
                emitter.Emit(Scalar("null", "", ScalarStyle.Plain));
                break;
            case string text:
                emitter.Emit(Scalar("str", text, NeedsQuotes(text) ? ScalarStyle.DoubleQuoted : ScalarStyle.Any));
                break;
            case bool flag:
                emitter.Emit(Scalar("bool", flag ? "true" : "false", ScalarStyle.Plain));
                break;
            case int or long or short or byte or uint or ulong:
                emitter.Emit(Scalar("int", Convert.ToString(value, CultureInfo.InvariantCulture)!, ScalarStyle.Plain));
                break;
            case double number:
                emitter.Emit(Scalar("float", number.ToString("G", CultureInfo.InvariantCulture), ScalarStyle.Plain));
                break;
            case IDictionary map:
                emitter.Emit(new MappingStart(null, null, isImplicit: true, MappingStyle.Any));
                foreach (DictionaryEntry entry in map)
                {
                    Write(emitter, entry.Key as string ?? throw new ArgumentException($"a YAML map key must be a string, not {entry.Key.GetType().Name}"));
                    Write(emitter, entry.Value);
                }
                emitter.Emit(new MappingEnd());
                break;
            case IEnumerable list:
                emitter.Emit(new SequenceStart(null, null, isImplicit: true, SequenceStyle.Any));
                foreach (var item in list) Write(emitter, item);
                emitter.Emit(new SequenceEnd());
                break;
            default:
                throw new ArgumentException($"{value.GetType().Name} is not a map, list or scalar");
        }
    }

    private static Scalar Scalar(string tag, string value, ScalarStyle style) =>
        new(null, "tag:yaml.org,2002:" + tag, value, style, isPlainImplicit: true, isQuotedImplicit: false);

    private static bool NeedsQuotes(string text) => text.Trim().Length == 0 || SpecialString().IsMatch(text);

    // YAML 1.2 core-schema null, bool, int and float forms, and a leading blank (YamlDotNet's list, TypeAssigningEventEmitter).
    [GeneratedRegex(@"^(null|Null|NULL|\~|true|True|TRUE|false|False|FALSE|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?(\.inf|\.Inf|\.INF)|\.nan|\.NaN|\.NAN|\s.*)$")]
    private static partial Regex SpecialString();
}
