using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace MobileOne.Server.Tests;

/// <summary>Samples of a Prometheus text exposition, by series (<c>name{labels}</c> exactly as exported).</summary>
public sealed class PrometheusText
{
    private readonly Dictionary<string, double> _samples;

    private PrometheusText(Dictionary<string, double> samples, string text)
    {
        _samples = samples;
        Text = text;
    }

    /// <summary>Gets the exposition text.</summary>
    public string Text { get; }

    /// <summary>Parses an exposition.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The samples.</returns>
    public static PrometheusText Parse(string text)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n').Where(l => l.Length > 0 && l[0] != '#'))
        {
            int space = line.LastIndexOf(' ');
            samples[line[..space]] = double.Parse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        return new PrometheusText(samples, text);
    }

    /// <summary>The value of a series, or 0 when it is absent (as Prometheus reads a counter not yet incremented).</summary>
    /// <param name="series">The series, e.g. <c>mobileone_classify_requests_total{status="200"}</c>.</param>
    /// <returns>The value.</returns>
    public double this[string series] => _samples.TryGetValue(series, out double value) ? value : 0;

    /// <summary>Tells whether the series is exported.</summary>
    /// <param name="series">The series.</param>
    /// <returns>True when present.</returns>
    public bool Has(string series) => _samples.ContainsKey(series);

    /// <summary>The series whose names start with <paramref name="prefix"/>.</summary>
    /// <param name="prefix">The prefix.</param>
    /// <returns>The series.</returns>
    public IEnumerable<string> SeriesStartingWith(string prefix) => _samples.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal));
}
