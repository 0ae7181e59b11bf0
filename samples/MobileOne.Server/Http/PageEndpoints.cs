using System;
using System.IO;
using System.Reflection;
using Microsoft.AspNetCore.Http;

namespace MobileOne.Server.Http;

/// <summary><c>GET /</c>: the upload page, one self-contained HTML file embedded in the assembly (no CDN, no static files).</summary>
public static class PageEndpoints
{
    private const string ResourceName = "MobileOne.Server.index.html";

    private static readonly Lazy<string> Html = new(LoadHtml);

    /// <summary>Serves the page.</summary>
    /// <param name="context">The HTTP context.</param>
    /// <returns>The HTML.</returns>
    public static IResult Index(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.Headers.CacheControl = "no-cache";
        return Results.Content(Html.Value, "text/html; charset=utf-8");
    }

    private static string LoadHtml()
    {
        using Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
