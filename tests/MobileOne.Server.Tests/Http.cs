using System.Net.Http;
using System.Net.Http.Json;
using System.Text.Json;
using System.Threading.Tasks;
using MobileOne.Server.Http;
using Xunit;

namespace MobileOne.Server.Tests;

/// <summary>Reading the server's answers.</summary>
public static class Http
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    /// <summary>Posts to /classify and returns the answer, failing the test unless it is a 200 with a JSON body.</summary>
    /// <param name="client">The client.</param>
    /// <param name="content">The body.</param>
    /// <returns>The answer.</returns>
    public static async Task<ClassificationResponse> ClassifyAsync(HttpClient client, HttpContent content)
    {
        using HttpResponseMessage response = await client.PostAsync("classify", content);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonSerializer.Deserialize<ClassificationResponse>(body, Web)!;
    }

    /// <summary>Posts to /classify and returns the problem, failing the test unless the answer is a problem+json.</summary>
    /// <param name="client">The client.</param>
    /// <param name="content">The body.</param>
    /// <param name="expectContinue">
    /// Send <c>Expect: 100-continue</c> and the body only when the server asks for it, as a client should for a
    /// large upload: a body over the limit is answered 413 before it is read, and the connection is closed, so a
    /// client that is still sending it may see its write fail instead of the answer.
    /// </param>
    /// <returns>The HTTP status and the problem's title and detail.</returns>
    public static async Task<Problem> ProblemAsync(HttpClient client, HttpContent content, bool expectContinue = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "classify") { Content = content };
        request.Headers.ExpectContinue = expectContinue;
        using HttpResponseMessage response = await client.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json", $"{(int)response.StatusCode}, not problem+json: {body}");
        Problem problem = (await response.Content.ReadFromJsonAsync<Problem>(Web))!;
        Assert.Equal((int)response.StatusCode, problem.Status);
        return problem;
    }

    /// <summary>An RFC 9457 problem.</summary>
    /// <param name="Status">The HTTP status.</param>
    /// <param name="Title">The title.</param>
    /// <param name="Detail">The detail.</param>
    public sealed record Problem(int Status, string Title, string Detail);
}
