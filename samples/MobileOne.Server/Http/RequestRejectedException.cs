using System;

namespace MobileOne.Server.Http;

/// <summary>A request the server refuses with a 4xx status; it becomes an <c>application/problem+json</c> response.</summary>
public sealed class RequestRejectedException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="RequestRejectedException"/> class.</summary>
    /// <param name="statusCode">The HTTP status (4xx).</param>
    /// <param name="title">A short, fixed summary of the problem type.</param>
    /// <param name="detail">What was wrong with this request.</param>
    public RequestRejectedException(int statusCode, string title, string detail)
        : base(detail)
    {
        StatusCode = statusCode;
        Title = title;
    }

    /// <summary>Gets the HTTP status.</summary>
    public int StatusCode { get; }

    /// <summary>Gets the problem's title.</summary>
    public string Title { get; }
}
