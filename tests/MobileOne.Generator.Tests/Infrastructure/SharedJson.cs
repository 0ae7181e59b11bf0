using System;
using System.Collections;
using System.Collections.Generic;
using System.Reflection;

namespace MobileOne.Generator.Tests.Infrastructure;

/// <summary>
/// Reaches the shared <c>MobileOne.Formats.Json.JsonReader</c> as compiled into MobileOne.Generator. The shared
/// sources are compiled into both the generator and the runtime, and both grant this assembly their internals, so
/// naming the type in C# is ambiguous (CS0433); reflection on the generator's copy sidesteps that.
/// </summary>
public static class SharedJson
{
    private static readonly Type ReaderType = typeof(MobileOneGenerator).Assembly.GetType("MobileOne.Formats.Json.JsonReader", throwOnError: true)!;
    private static readonly MethodInfo ParseMethod = ReaderType.GetMethod("Parse", BindingFlags.Public | BindingFlags.Static)!;

    public static int MaxDepth => (int)ReaderType.GetField("MaxDepth")!.GetValue(null)!;

    /// <summary>Parses <paramref name="text"/>; a syntax error comes back as <see cref="JsonError"/>.</summary>
    public static JsonNode Parse(string text)
    {
        try
        {
            return new JsonNode(ParseMethod.Invoke(null, new object[] { text })!);
        }
        catch (TargetInvocationException e) when (e.InnerException?.GetType().Name == "JsonParseException")
        {
            Exception inner = e.InnerException;
            throw new JsonError(inner.Message, Get<int>(inner, "Line"), Get<int>(inner, "Column"));
        }
    }

    internal static T Get<T>(object target, string property) => (T)target.GetType().GetProperty(property)!.GetValue(target)!;
}

/// <summary>A JsonParseException, re-thrown as a type the tests can name.</summary>
public sealed class JsonError : Exception
{
    public JsonError(string message, int line, int column)
        : base(message)
    {
        Line = line;
        Column = column;
    }

    public int Line { get; }

    public int Column { get; }
}

/// <summary>A view of one JsonValue.</summary>
public sealed class JsonNode
{
    private readonly object _value;

    public JsonNode(object value) => _value = value;

    /// <summary>Null, Boolean, Number, String, Array or Object.</summary>
    public string Kind => SharedJson.Get<object>(_value, "Kind").ToString()!;

    public int Line => SharedJson.Get<int>(_value, "Line");

    public int Column => SharedJson.Get<int>(_value, "Column");

    public string Text => SharedJson.Get<string>(_value, "Text");

    public bool Boolean => SharedJson.Get<bool>(_value, "Boolean");

    public IReadOnlyList<JsonNode> Items
    {
        get
        {
            var list = new List<JsonNode>();
            foreach (object item in SharedJson.Get<IEnumerable>(_value, "Items"))
            {
                list.Add(new JsonNode(item));
            }

            return list;
        }
    }

    public IReadOnlyList<KeyValuePair<string, JsonNode>> Members
    {
        get
        {
            var list = new List<KeyValuePair<string, JsonNode>>();
            foreach (object pair in SharedJson.Get<IEnumerable>(_value, "Members"))
            {
                list.Add(new(SharedJson.Get<string>(pair, "Key"), new JsonNode(SharedJson.Get<object>(pair, "Value"))));
            }

            return list;
        }
    }

    public JsonNode? this[string name]
    {
        get
        {
            object? v = _value.GetType().GetProperty("Item", new[] { typeof(string) })!.GetValue(_value, new object[] { name });
            return v == null ? null : new JsonNode(v);
        }
    }

    public bool TryGetInt64(out long value) => TryGet("TryGetInt64", out value);

    public bool TryGetDouble(out double value) => TryGet("TryGetDouble", out value);

    private bool TryGet<T>(string method, out T value)
    {
        object?[] args = { null };
        bool ok = (bool)_value.GetType().GetMethod(method)!.Invoke(_value, args)!;
        value = (T)args[0]!;
        return ok;
    }
}
