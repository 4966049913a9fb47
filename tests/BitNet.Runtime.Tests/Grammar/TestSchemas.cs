namespace BitNet.Runtime.Tests.Grammar;

/// <summary>Schemas the generation tests run: each stresses a different part of the compiler.</summary>
internal static class TestSchemas
{
    public const string Person = """
        {"type":"object","properties":{
          "name":{"type":"string","minLength":1,"maxLength":12},
          "age":{"type":"integer","minimum":0,"maximum":130},
          "role":{"type":"string","enum":["admin","user","guest"]},
          "active":{"type":"boolean"},
          "nickname":{"type":["string","null"],"maxLength":8}},
         "required":["name","age","role","active","nickname"],"additionalProperties":false}
        """;

    public const string Order = """
        {"type":"object","properties":{
          "id":{"type":"string","format":"uuid"},
          "placed":{"type":"string","format":"date-time"},
          "site":{"type":"string","format":"uri"},
          "due":{"type":"string","format":"date"},
          "contact":{"type":"string","format":"email"},
          "items":{"type":"array","minItems":1,"maxItems":3,"items":{"type":"object","properties":{
              "sku":{"type":"string","pattern":"^[A-Z]{3}-\\d{4}$"},
              "qty":{"type":"integer","exclusiveMinimum":0,"maximum":99},
              "price":{"type":"number","minimum":0,"maximum":1000}},
            "required":["sku","qty","price"],"additionalProperties":false}},
          "note":{"type":"string","maxLength":20}},
         "required":["id","placed","due","items"],"additionalProperties":false}
        """;

    public const string Tree = """
        {"$defs":{"node":{"type":"object","properties":{
            "label":{"type":"string","maxLength":6},
            "children":{"type":"array","maxItems":2,"items":{"$ref":"#/$defs/node"}}},
          "required":["label","children"],"additionalProperties":false}},
         "$ref":"#/$defs/node"}
        """;

    public const string Loose = """
        {"title":"loose","description":"non-strict: optional properties, extra keys","type":"object",
         "properties":{"kind":{"const":"event"},"score":{"type":"number"},"tags":{"type":"array","items":{"type":"string"}}},
         "required":["kind"]}
        """;

    public const string Unicode = """
        {"type":"object","properties":{
          "word":{"enum":["é","日本","🎉 party","naïve"]},
          "fixed":{"const":"Ünïcödé ✓"},
          "free":{"type":"string"},
          "short":{"type":"string","maxLength":4}},
         "required":["word","fixed","free","short"],"additionalProperties":false}
        """;

    public const string Choices = """
        {"anyOf":[
          {"type":"object","properties":{"ok":{"const":true},"value":{"type":"integer","minimum":-20,"maximum":20}},"required":["ok","value"],"additionalProperties":false},
          {"type":"object","properties":{"ok":{"const":false},"error":{"type":"string","pattern":"^E\\d{3}: [a-z ]{1,10}$"}},"required":["ok","error"],"additionalProperties":false},
          {"type":"null"}]}
        """;

    public const string AnyObject = """{"type":"object"}""";

    public static string Get(string name) => name switch
    {
        nameof(Person) => Person,
        nameof(Order) => Order,
        nameof(Tree) => Tree,
        nameof(Loose) => Loose,
        nameof(Unicode) => Unicode,
        nameof(Choices) => Choices,
        nameof(AnyObject) => AnyObject,
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };
}
